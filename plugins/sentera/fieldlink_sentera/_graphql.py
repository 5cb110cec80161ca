"""Sentera's GraphQL API as fieldlink uses it: paged answers, and the errors a
GraphQL server reports inside an HTTP 200 (the reference: "check the body")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from fieldlink.errors import CredentialRevoked, ProviderError

from ._options import PROVIDER_ID

if TYPE_CHECKING:
    from fieldlink.http import HttpClient

    from ._options import Options

#: How much of a GraphQL error message goes into an exception.
_MESSAGE_LIMIT = 300


@attrs.frozen
class ResultPage:
    """One page of a paged query's ``results``, and the number of the next page."""

    results: tuple[Mapping[str, Any], ...]
    next_page: int | None


def execute(
    http: HttpClient,
    url: str,
    document: str,
    variables: Mapping[str, Any],
    *,
    token: str,
    options: Options,
    what: str,
    headers: Mapping[str, str] | None = None,
) -> Mapping[str, Any]:
    """POST one query and return its ``data``; raise what its errors mean.

    ``token`` is only used to keep it out of messages; ``headers`` carry it when
    ``http`` does not authorise requests itself.
    """
    response = http.post(
        url,
        json={"query": document, "variables": dict(variables)},
        headers={"Accept": "application/json", **(headers or {})},
    )
    if response.status_code == 401:
        raise _refused(f"HTTP 401 for {what}", status=401)
    body = http.json(response, what=what)
    if not isinstance(body, dict):
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with JSON that is not an object",
            provider=PROVIDER_ID,
            status=response.status_code,
        )

    # GraphQL reports failures inside a 200: any error spoils the whole answer.
    errors = body.get("errors")
    if errors:
        found = [_describe(error, token) for error in _as_list(errors)]
        message, code = found[0]
        first = f"{message} [{code}]" if code else message
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        if any(_revoking(options, message, code) for message, code in found):
            raise _refused(f"{what}: {first}{more}", status=response.status_code)
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} with a GraphQL error: {first}{more}",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise ProviderError(
            f"{PROVIDER_ID} answered {what} without data or errors",
            provider=PROVIDER_ID,
            status=response.status_code,
        )
    return data


def read_page(
    data: Mapping[str, Any],
    root: str,
    *,
    page: int,
    page_size: int,
    first_page: int,
    what: str,
) -> ResultPage:
    """Read the paged answer of query ``root`` asked for ``page``."""
    node = data.get(root)
    results = node.get("results") if isinstance(node, dict) else None
    if not isinstance(node, dict) or not isinstance(results, list):
        raise _malformed(what, f"no {root}.results list")
    if not all(isinstance(item, dict) for item in results):
        raise _malformed(what, "results that are not objects")
    total = _count(node, "total_count", None, what)
    # A page other than the one asked for would make the listing go round for ever.
    if _count(node, "page", page, what) != page:
        raise _malformed(what, f"another page than page {page}, which was asked for")
    page_size = _count(node, "page_size", page_size, what) or page_size

    # How many items the pages up to this one hold, by the answer's own numbers.
    reached = (page - first_page) * page_size + len(results)
    if results and reached < total:
        return ResultPage(tuple(results), page + 1)
    if reached < total:
        # Pages counted from another first page would skip items without a word.
        raise ProviderError(
            f"{PROVIDER_ID} reports {total} {what} but page {page} is empty after "
            f"{reached}; if Sentera counts pages from another number, set "
            f"settings={{{PROVIDER_ID!r}: {{'first_page': ...}}}}",
            provider=PROVIDER_ID,
        )
    return ResultPage(tuple(results), None)


def _count(node: Mapping[str, Any], name: str, default: int | None, what: str) -> int:
    value = node.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _malformed(what, f"a {name} that is not a count")
    return value


def _malformed(what: str, problem: str) -> ProviderError:
    return ProviderError(
        f"{PROVIDER_ID} answered {what} with {problem}", provider=PROVIDER_ID
    )


def _as_list(errors: Any) -> list[Any]:
    return errors if isinstance(errors, list) else [errors]


def _describe(error: Any, token: str) -> tuple[str, str]:
    """An error's message and code, the token taken out in case it was quoted."""
    if isinstance(error, dict):
        message = str(error.get("message") or "no message")
        extensions = error.get("extensions")
        code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    else:
        message, code = str(error), ""
    if token:
        message = message.replace(token, "***")
    return message[:_MESSAGE_LIMIT], code


def _revoking(options: Options, message: str, code: str) -> bool:
    pattern = options.revoking_errors
    return bool(pattern.search(message) or pattern.search(code))


def _refused(detail: str, *, status: int | None) -> CredentialRevoked:
    return CredentialRevoked(
        f"{PROVIDER_ID} no longer accepts the session token ({detail}); fieldlink "
        "keeps no password to sign in again, so the user must connect again",
        error="unauthorized",
        provider=PROVIDER_ID,
        status=status,
    )
