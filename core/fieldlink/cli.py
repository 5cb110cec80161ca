"""The ``fieldlink`` command line.

Commands stay thin: they parse, call the Python API and print. Only fieldlink's own
errors are caught, and each maps to an exit status that means something:

    0 done; 1 failed; 2 wrong usage (an unknown option value, provider, environment
    or resource kind, a malformed user id); 3 a payload is invalid, or its file is not
    UTF-8 JSON; 4 a credential is invalid, or the user
    refused to connect, and the user must connect again; 5 the provider is
    unavailable for now: try again later.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._version import __version__

if TYPE_CHECKING:
    from ._client import Fieldlink
    from .errors import DecryptionError
    from .models import Credential, ProviderInfo

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_PAYLOAD = 3
EXIT_CREDENTIAL_INVALID = 4
EXIT_UNAVAILABLE = 5
DEFAULT_CALLBACK_PORT = 8765
#: 0 lets the system pick a free port.
PORT = click.IntRange(0, 65535)
#: Resources an emulator seeds per list.
SIZE = click.IntRange(min=0)


def _exit_status(error: Exception) -> int:
    from .errors import (
        AuthorizationDenied,
        CredentialInvalid,
        CredentialRevoked,
        CredentialValidationError,
        InvalidUserIdError,
        ProviderUnavailable,
        UnknownNameError,
    )

    if isinstance(error, UnknownNameError | InvalidUserIdError):
        return EXIT_USAGE
    if isinstance(error, CredentialValidationError):
        return EXIT_INVALID_PAYLOAD
    if isinstance(error, CredentialInvalid | CredentialRevoked | AuthorizationDenied):
        return EXIT_CREDENTIAL_INVALID
    if isinstance(error, ProviderUnavailable):
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


def handle_errors(command: F) -> F:
    """Turn fieldlink's errors into a one-line message and a meaningful exit status."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import FieldlinkError

        try:
            return command(*args, **kwargs)
        except FieldlinkError as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(_exit_status(error))

    return wrapper  # type: ignore[return-value]


def _fieldlink(ctx: click.Context) -> Fieldlink:
    """The Fieldlink of this invocation, closed when the command ends."""
    obj = ctx.ensure_object(dict)
    if "fieldlink" not in obj:
        from ._client import Fieldlink

        instance = Fieldlink(
            obj.get("database_url"), sandbox_url=obj.get("sandbox_url")
        )
        if obj.get("database_origin"):
            instance.database_origin = obj["database_origin"]
        ctx.call_on_close(instance.close)
        obj["fieldlink"] = instance
    return obj["fieldlink"]


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def _table(rows: Iterable[Iterable[Any]], headers: Iterable[str]) -> str:
    cells = [list(map(str, headers))] + [
        ["" if c is None else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


class _Commands(click.Group):
    """The command group; a reader that stops reading (``| head``) ends a command
    quietly."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader has what it wanted: not a failure. What is still buffered
            # goes nowhere, rather than into a second error at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fieldlink")
@click.option(
    "--database-url",
    envvar="FIELDLINK_DATABASE_URL",
    help="SQLAlchemy URL of the store [default: an SQLite file in your data directory].",
)
@click.option(
    "--sandbox-url",
    envvar="FIELDLINK_SANDBOX_URL",
    help="Send every provider call to a running `fieldlink sandbox` at this URL.",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None, sandbox_url: str | None) -> None:
    """Connect users' accounts at agricultural data providers, and keep them alive.

    Exit status: 0 done, 1 failed, 2 wrong usage, 3 invalid payload, 4 credential
    invalid or connection refused (the user must connect again), 5 provider
    unavailable (try again later).
    """
    ctx.ensure_object(dict).update(
        database_url=database_url,
        sandbox_url=sandbox_url,
        database_origin=_origin(ctx, "database_url", "--database-url"),
    )


def _origin(ctx: click.Context, name: str, option: str) -> str | None:
    """Where an option's value came from, as the messages about it say it."""
    source = ctx.get_parameter_source(name)
    if source is click.core.ParameterSource.COMMANDLINE:
        return option
    if source is click.core.ParameterSource.ENVIRONMENT:
        param = next(p for p in ctx.command.params if p.name == name)
        return str(param.envvar)
    return None


# Providers


def _provider_json(info: ProviderInfo, distribution: str | None) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "version": info.version,
        "distribution": distribution,
        "auth_kind": info.auth_kind.value,
        "resource_kinds": list(info.resource_kinds),
        "resource_parents": dict(info.resource_parents),
        "environments": list(info.environments),
        "endpoints": {env: dict(urls) for env, urls in info.endpoints.items()},
        "documentation_url": info.documentation_url,
        "min_core_version": info.min_core_version,
        "rotates_refresh_tokens": info.rotates_refresh_tokens,
        "credential_schema": str(info.credential_schema),
        "notes": list(info.notes),
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def providers(as_json: bool) -> None:
    """List the installed providers, and the plugins left out with the reason."""
    # The plugin registry alone: no store, no HTTP, so that this stays fast.
    from ._plugins import PluginRegistry

    registry = PluginRegistry()
    registry.load_entry_points()
    loaded = [registry.providers[name] for name in sorted(registry.providers)]
    failures = registry.failures
    selection_problem = registry.selection_problem()
    if selection_problem:
        click.echo(f"Warning: {selection_problem}", err=True)
    if as_json:
        _print_json(
            {
                "providers": [_provider_json(p.info, p.distribution) for p in loaded],
                "failed": [
                    {"name": f.name, "distribution": f.distribution, "reason": f.reason}
                    for f in failures
                ],
            }
        )
        return
    rows = [
        (
            p.info.id,
            p.info.name,
            p.info.version,
            p.info.auth_kind.value,
            ", ".join(p.info.resource_kinds),
        )
        for p in loaded
    ]
    click.echo(_table(rows, ("id", "name", "version", "auth", "resources")))
    for failure in failures:
        click.echo(
            f"left out: {failure.name} ({failure.distribution}): {failure.reason}",
            err=True,
        )


@cli.command()
@click.argument("provider")
@click.argument("file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.pass_context
@handle_errors
def validate(ctx: click.Context, provider: str, file: Any, as_json: bool) -> None:
    """Check a credential payload FILE (JSON, or - for standard input) for PROVIDER.

    Exits 0 when it fits the provider's schema, 3 when it does not, or when FILE is
    not UTF-8 JSON; problems are listed with their JSON path, best match first,
    never with their values.
    """
    from ._files import read_json
    from ._plugins import PluginRegistry
    from .errors import FileFormatError

    registry = PluginRegistry()
    registry.load_entry_points()
    schema = registry.provider(provider).schema
    try:
        payload = read_json(file)
    except FileFormatError as error:
        if as_json:
            _print_json({"valid": False, "error": error.as_dict(), "issues": []})
        else:
            click.echo(f"Error: {error}", err=True)
        sys.exit(EXIT_INVALID_PAYLOAD)
    issues = schema.issues(payload)
    if as_json:
        _print_json(
            {"valid": not issues, "issues": [issue.as_dict() for issue in issues]}
        )
    elif issues:
        for issue in issues:
            click.echo(f"{issue.path}: {issue.message}", err=True)
    else:
        click.echo(f"valid {provider} credentials")
    if issues:
        sys.exit(EXIT_INVALID_PAYLOAD)


# Plugin authors


@cli.command()
@click.argument("plugins", nargs=-1, metavar="[PLUGIN]...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints workflow annotations on the failing files.",
)
def check(plugins: tuple[str, ...], output_format: str) -> None:
    """Check provider plugins before they are published.

    PLUGIN is an installed plugin's provider id or distribution name, or the path
    of a plugin's source tree (its pyproject.toml names the entry point); every
    installed plugin by default. Checks the entry point, the hooks, the provider
    description, the minimum core version and the credential schema (meta-schema,
    offline $refs, examples). Exits 0 only when every plugin passes.
    """
    from ._check import TargetError, check_plugins, render

    try:
        reports = check_plugins(plugins)
    except TargetError as error:
        raise click.BadParameter(str(error), param_hint="PLUGIN") from None
    click.echo(render(reports, output_format))
    if not reports or not all(report.ok for report in reports):
        sys.exit(EXIT_FAILED)


@cli.command("new-provider")
@click.argument("provider_id", metavar="ID")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the plugin [default: ./fieldlink-ID].",
)
@click.option("--name", help="The provider's name as users know it [default: from ID].")
def new_provider(provider_id: str, directory: Path | None, name: str | None) -> None:
    """Write a working provider plugin for ID, ready to fill in.

    The skeleton passes `fieldlink check` and its conformance tests as written:
    package, credential schema, emulator, tests and a CI workflow.
    """
    from ._template import TemplateError, write_provider

    target = directory or Path(f"fieldlink-{provider_id}")
    try:
        written = write_provider(provider_id, target, name=name)
    except TemplateError as error:
        raise click.BadParameter(str(error), param_hint="ID") from None
    except FileExistsError as error:
        raise click.ClickException(str(error)) from None
    for file in written:
        click.echo(f"wrote {file}")
    click.echo(
        f"next: cd '{target}' && python -m pip install -e '.[test]' && "
        "fieldlink check . && python -m pytest"
    )


# App registrations


@cli.group()
def apps() -> None:
    """Your application's client ids and secrets at each provider."""


@apps.command("add")
@click.argument("provider")
@click.option(
    "--environment", help="Provider environment [default: the provider's first]."
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=VALUE",
    help="An app-level field; secret fields left out are asked for without echo.",
)
@click.pass_context
@handle_errors
def apps_add(
    ctx: click.Context, provider: str, environment: str | None, fields: tuple[str, ...]
) -> None:
    """Register your app at PROVIDER (client id, secret, keys)."""
    fieldlink = _fieldlink(ctx)
    loaded = fieldlink.provider(provider)
    environment = loaded.environment(environment)
    schema = loaded.schema
    values = _app_fields(provider, fields, schema.app_fields)
    for name in sorted((schema.app_fields & schema.required) - set(values)):
        values[name] = _ask(name, secret=name in schema.secret_fields)
    registration = fieldlink.register_app(provider, values, environment=environment)
    click.echo(f"registered your {provider} app for {registration.environment}")


def _app_fields(
    provider: str, fields: tuple[str, ...], app_fields: Iterable[str]
) -> dict[str, str]:
    """The ``--field`` values by name, every name checked before anything is asked."""
    valid = sorted(app_fields)
    values: dict[str, str] = {}
    for item in fields:
        name, separator, value = item.partition("=")
        if not separator:
            # The item is not shown: it may be a secret typed without its name.
            raise click.BadParameter(
                "each must be NAME=VALUE, and one has no '='", param_hint="--field"
            )
        if name not in valid:
            raise click.BadParameter(
                f"{name!r} is not an app-level field of {provider}; use "
                + ", ".join(valid),
                param_hint="--field",
            )
        values[name] = value
    return values


def _ask(name: str, *, secret: bool) -> str:
    """Ask for a field left out; with no terminal to ask at, say how to give it."""
    try:
        return str(click.prompt(name, hide_input=secret))
    except click.Abort:
        if sys.stdin.isatty():
            raise
        raise click.UsageError(
            f"no value for {name}: give it as --field {name}=VALUE, or type it when "
            "asked"
        ) from None


@apps.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def apps_list(ctx: click.Context, as_json: bool) -> None:
    """List app registrations (secrets masked)."""
    fieldlink = _fieldlink(ctx)
    rows: list[dict[str, Any]] = []
    unreadable: list[DecryptionError] = []
    for app in fieldlink.apps(unreadable=unreadable):
        schema = fieldlink.provider(app.provider).schema
        rows.append(
            {
                "provider": app.provider,
                "environment": app.environment,
                "fields": schema.mask(app.fields),
            }
        )
    if as_json:
        _print_json(rows)
    else:
        click.echo(
            _table(
                (
                    (
                        r["provider"],
                        r["environment"],
                        ", ".join(f"{k}={v}" for k, v in r["fields"].items()),
                    )
                    for r in rows
                ),
                ("provider", "environment", "fields"),
            )
        )
    _fail_for_unreadable(unreadable)


@apps.command("delete")
@click.argument("provider")
@click.argument("environment")
@click.pass_context
@handle_errors
def apps_delete(ctx: click.Context, provider: str, environment: str) -> None:
    """Remove the app registration of PROVIDER in ENVIRONMENT."""
    if not _fieldlink(ctx).delete_app(provider, environment):
        click.echo(f"Error: no {provider} app registered for {environment}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"removed the {provider} app for {environment}")


# Connecting


@cli.command()
@click.argument("provider")
@click.option(
    "--user", "user_id", required=True, help="Your application's id for the user."
)
@click.option(
    "--environment", help="Provider environment [default: the provider's first]."
)
@click.option(
    "--port",
    default=DEFAULT_CALLBACK_PORT,
    show_default=True,
    type=PORT,
    help="Port of the local callback listener on 127.0.0.1; register "
    "http://127.0.0.1:PORT/callback at the provider.",
)
@click.option(
    "--no-browser", is_flag=True, help="Print the URL instead of opening a browser."
)
@click.option(
    "--timeout",
    default=600,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds to wait for the user.",
)
@click.pass_context
@handle_errors
def connect(
    ctx: click.Context,
    provider: str,
    user_id: str,
    environment: str | None,
    port: int,
    no_browser: bool,
    timeout: int,
) -> None:
    """Connect USER's account at PROVIDER and store the credential."""
    from ._callback import CallbackListener

    fieldlink = _fieldlink(ctx)
    with CallbackListener(port) as listener:
        start = fieldlink.start_auth(
            user_id,
            provider,
            redirect_uri=listener.redirect_uri,
            environment=environment,
        )
        if start.form is not None and fieldlink.in_sandbox:
            click.echo("Answering the form with the sandbox grower's login.", err=True)
            params = {"state": start.state, **fieldlink.sandbox_login(provider)}
        elif start.form is not None:
            params = {"state": start.state}
            for field in start.form.fields:
                params[field.name] = click.prompt(field.label, hide_input=field.secret)
        else:
            params = _visit(listener, start.url or "", no_browser, timeout)
        connection = fieldlink.complete_auth(provider, params)
        if connection.next_step_url:
            click.echo(f"{provider} needs one more step from the user.", err=True)
            _visit(listener, connection.next_step_url, no_browser, timeout)
    credential = connection.credential
    click.echo(f"connected {user_id} to {provider} (credential {credential.id})")


def _visit(listener: Any, url: str, no_browser: bool, timeout: int) -> dict[str, str]:
    click.echo(f"Open this URL to continue:\n\n  {url}\n", err=True)
    if not no_browser:
        import webbrowser

        webbrowser.open(url)
    click.echo("Waiting for the provider to send the user back...", err=True)
    return listener.wait(timeout)


# Credentials


@cli.group()
def credentials() -> None:
    """Stored credentials: list, show, delete, events."""


def _credential_json(fieldlink: Fieldlink, credential: Credential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "user_id": credential.user_id,
        "provider": credential.provider,
        "environment": credential.environment,
        "status": credential.status.value,
        "status_reason": credential.status_reason,
        "expires_at": credential.expires_at,
        "scopes": list(credential.scopes),
        "created_at": credential.created_at,
        "updated_at": credential.updated_at,
        "payload": fieldlink.masked_payload(credential),
    }


@credentials.command("list")
@click.option("--user", "user_id", help="Only this user's credentials.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def credentials_list(ctx: click.Context, user_id: str | None, as_json: bool) -> None:
    """List stored credentials."""
    fieldlink = _fieldlink(ctx)
    unreadable: list[DecryptionError] = []
    found = fieldlink.credentials(user_id, unreadable=unreadable)
    if as_json:
        _print_json([_credential_json(fieldlink, c) for c in found])
    else:
        rows = (
            (
                c.user_id,
                c.provider,
                c.environment,
                c.status.value,
                c.expires_at and c.expires_at.isoformat(timespec="seconds"),
            )
            for c in found
        )
        click.echo(
            _table(rows, ("user", "provider", "environment", "status", "token expires"))
        )
    _fail_for_unreadable(unreadable)


def _fail_for_unreadable(unreadable: list[DecryptionError]) -> None:
    """Name each row a listing left out because its secrets cannot be decrypted, and
    fail: the listing is incomplete."""
    for error in unreadable:
        click.echo(f"Error: {error}", err=True)
    if unreadable:
        sys.exit(EXIT_FAILED)


@credentials.command("show")
@click.argument("user_id")
@click.argument("provider")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def credentials_show(
    ctx: click.Context, user_id: str, provider: str, as_json: bool
) -> None:
    """Show one credential, secrets masked."""
    fieldlink = _fieldlink(ctx)
    shown = _credential_json(fieldlink, fieldlink.credential(user_id, provider))
    if as_json:
        _print_json(shown)
        return
    for key, value in shown.items():
        if key == "payload":
            for name, item in value.items():
                click.echo(f"payload.{name}: {item}")
        else:
            click.echo(
                f"{key}: {_json_default(value) if isinstance(value, datetime) else value}"
            )


@credentials.command("delete")
@click.argument("user_id")
@click.argument("provider")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
@handle_errors
def credentials_delete(
    ctx: click.Context, user_id: str, provider: str, yes: bool
) -> None:
    """Delete USER_ID's PROVIDER credential and its events."""
    from .errors import DecryptionError
    from .models import CredentialStatus

    fieldlink = _fieldlink(ctx)
    # A mistyped name is reported before the question, not after it.
    credential: Credential | None = None
    with contextlib.suppress(DecryptionError):  # it exists; deleting needs no secret
        credential = fieldlink.credential(user_id, provider)
    if not yes:
        click.confirm(f"Delete the {provider} credential of {user_id}?", abort=True)
    deletion = fieldlink.delete(user_id, provider)
    click.echo(f"deleted the {provider} credential of {user_id}")
    if deletion.revoked:
        click.echo(f"{provider} revoked it")
    elif deletion.error:
        click.echo(f"Warning: {provider} did not revoke it: {deletion.error}", err=True)
    elif credential is not None and credential.status is CredentialStatus.INVALID:
        click.echo(
            f"{provider} was not asked to revoke it, as it was invalid already; "
            "deleted here only"
        )
    else:
        click.echo(f"{provider} offers no revocation; deleted here only")


@credentials.command("events")
@click.argument("user_id")
@click.argument("provider")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many, newest first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@handle_errors
def credentials_events(
    ctx: click.Context, user_id: str, provider: str, limit: int, as_json: bool
) -> None:
    """Show a credential's event log, newest first."""
    events = _fieldlink(ctx).events(user_id, provider, limit=limit)
    if as_json:
        _print_json(
            [
                {
                    "id": e.id,
                    "credential_id": e.credential_id,
                    "kind": e.kind,
                    "created_at": e.created_at,
                    "status_code": e.status_code,
                    "message": e.message,
                    "details": dict(e.details),
                }
                for e in events
            ]
        )
        return
    rows = (
        (e.created_at.isoformat(timespec="seconds"), e.kind, e.status_code, e.message)
        for e in events
    )
    click.echo(_table(rows, ("when", "event", "status", "message")))


# Data and tokens


def _named_kind(
    ctx: click.Context, param: click.Parameter, kind: str | None
) -> str | None:
    """``--kind`` as given: an empty one is refused rather than read as every kind."""
    if kind == "":
        raise click.BadParameter("must name a kind; leave it out to list every kind")
    return kind


@cli.command()
@click.argument("provider")
@click.option(
    "--user", "user_id", required=True, help="Your application's id for the user."
)
@click.option(
    "--kind",
    callback=_named_kind,
    help="Resource kind [default: every kind the provider lists].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the resources as JSON lines."
)
@click.pass_context
@handle_errors
def resources(
    ctx: click.Context, provider: str, user_id: str, kind: str | None, as_json: bool
) -> None:
    """List USER's resources at PROVIDER; progress goes to standard error."""
    fieldlink = _fieldlink(ctx)
    kinds = [kind] if kind else list(fieldlink.provider(provider).info.resource_kinds)
    counts: dict[str, int] = {}
    for each in kinds:
        counts[each] = 0
        for resource in fieldlink.iter_resources(user_id, provider, each):
            counts[each] += 1
            if as_json:
                click.echo(
                    json.dumps(
                        {
                            "kind": resource.kind,
                            "id": resource.id,
                            "name": resource.name,
                            "parent_id": resource.parent_id,
                            "data": dict(resource.data),
                        },
                        default=_json_default,
                    )
                )
            else:
                click.echo(f"{resource.kind}\t{resource.id}\t{resource.name or ''}")
            if counts[each] % 100 == 0:
                click.echo(f"{each}: {counts[each]}...", err=True)
        click.echo(f"{each}: {counts[each]}", err=True)


@cli.command()
@click.argument("provider", required=False)
@click.option("--user", "user_id", help="Your application's id for the user.")
@click.option(
    "--due", is_flag=True, help="Refresh every credential that is due, then stop."
)
@click.option(
    "--within",
    default=900,
    show_default=True,
    type=click.IntRange(min=0),
    help="With --due: seconds of look-ahead.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="With --due: workers in this process.",
)
@click.pass_context
@handle_errors
def refresh(
    ctx: click.Context,
    provider: str | None,
    user_id: str | None,
    due: bool,
    within: int,
    workers: int,
) -> None:
    """Refresh USER's PROVIDER token now, or with --due every credential that needs it.

    With --due, a credential that fails is named in the summary and the others go
    on; exits 0 when only a passing provider outage held any back, 1 when one failed
    otherwise. Workers on several machines may share one PostgreSQL store: each
    takes credentials the others do not hold. SIGTERM lets the current refreshes
    finish and stops.
    """
    _refuse_what_does_not_apply(ctx, provider, user_id, due)
    fieldlink = _fieldlink(ctx)
    if due:
        from ._worker import run_workers

        sys.exit(run_workers(fieldlink, within=within, workers=workers))
    if not provider or user_id is None:
        raise click.UsageError("name PROVIDER and --user, or use --due")
    before = fieldlink.credential(user_id, provider)
    after = fieldlink.refresh(user_id, provider)
    click.echo(_refresh_result(fieldlink, before, after))


#: Options of ``refresh`` that only a run of the worker (--due) takes.
DUE_ONLY_OPTIONS = ("within", "workers")


def _refuse_what_does_not_apply(
    ctx: click.Context, provider: str | None, user_id: str | None, due: bool
) -> None:
    """Options of one kind of refresh given to the other are refused, not ignored."""
    if due:
        if provider is not None or user_id is not None:
            raise click.UsageError(
                "--due refreshes every credential that is due; leave out PROVIDER "
                "and --user"
            )
        return
    given = [
        f"--{name}"
        for name in DUE_ONLY_OPTIONS
        if ctx.get_parameter_source(name) is not click.ParameterSource.DEFAULT
    ]
    if given:
        raise click.UsageError(
            f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} only "
            "with --due; add --due to refresh every credential that is due, or leave "
            f"{'them' if len(given) > 1 else 'it'} out to refresh one credential"
        )


def _refresh_result(fieldlink: Fieldlink, before: Credential, after: Credential) -> str:
    """What refreshing one credential did, in words true of its provider."""
    provider = after.provider
    whose = f"the {provider} credential of {after.user_id}"
    if not fieldlink.provider(provider).info.issues_access_tokens:
        return (
            f"checked {whose} at {provider}: it still works; {provider} signs each "
            "request and has no tokens to refresh"
        )
    expiry = (
        f"expires {after.expires_at.isoformat(timespec='seconds')}"
        if after.expires_at
        else "has no expiry that the provider stated"
    )
    if after.access_token == before.access_token:
        return (
            f"checked {whose} at {provider}: it still works; {provider} kept its "
            f"access token, which {expiry}"
        )
    return f"refreshed {whose}; the new access token {expiry}"


# Keys


@cli.group()
def keys() -> None:
    """Encryption keys for the store."""


@keys.command("generate")
@click.argument(
    "output", type=click.Path(dir_okay=False, writable=True, path_type=Path)
)
def keys_generate(output: Path) -> None:
    """Write a new key to OUTPUT, readable by you only.

    Use it with FIELDLINK_SECRET_KEY="$(cat OUTPUT)"; to rotate, put the new key
    first and keep the old one after it. Keys are separated by commas or whitespace,
    so a key file of several keys, one a line, reads the same way.
    """
    from ._crypto import generate_key

    try:
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(
            f"{output} exists already, and a key file is never overwritten: the "
            "secrets encrypted with its key would be lost; name a new file"
        ) from None
    except FileNotFoundError:
        raise click.ClickException(
            f"the folder {output.parent} does not exist; create it first, or name a "
            "file in a folder that exists"
        ) from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None
    with os.fdopen(descriptor, "w") as file:
        file.write(generate_key() + "\n")
    click.echo(f"wrote a new key to {output}")


@keys.command("rotate")
@click.pass_context
@handle_errors
def keys_rotate(ctx: click.Context) -> None:
    """Re-encrypt every stored secret under a new key.

    With FIELDLINK_SECRET_KEY: put the new key first and keep the old ones after it,
    in every process (all of them decrypt while this runs), then drop the old ones
    once this is done. With the default store's key file, this makes the new key,
    rotates, and leaves only the new key in the file. Safe to interrupt and run
    again. Auth sessions used or expired are deleted, not re-encrypted.
    """
    from ._crypto import (
        SECRET_KEY_ENV,
        begin_key_file_rotation,
        end_key_file_rotation,
    )

    using_key_file = not os.environ.get(SECRET_KEY_ENV, "").strip() and not ctx.obj.get(
        "database_url"
    )
    if using_key_file:
        # The sandbox's own key file, against a sandbox: it encrypts another store.
        begin_key_file_rotation(_fieldlink(ctx).key_file)
    store = _fieldlink(ctx).store
    total = 0
    for rewritten in store.rotate_keys():
        total += rewritten
        click.echo(f"... {total} rows re-encrypted", err=True)
    if using_key_file:
        end_key_file_rotation(_fieldlink(ctx).key_file)
    click.echo(f"re-encrypted {total} rows under the primary key")


# Sandbox and demo


@cli.command()
@click.option(
    "--port", default=8700, show_default=True, type=PORT, help="Port on 127.0.0.1."
)
@click.option(
    "--size",
    default=25,
    show_default=True,
    type=SIZE,
    help="Resources seeded per list.",
)
@handle_errors
def sandbox(port: int, size: int) -> None:
    """Serve an emulator of every installed provider on 127.0.0.1.

    With FIELDLINK_SANDBOX_URL set to the URL it prints, fieldlink sends every
    provider call there and takes each emulator's app registration from it; unless a
    database is named, credentials made then go to a store of their own (sandbox.db
    in the data directory), apart from your real ones. POST to
    <URL>/<provider id>/_sandbox/revoke plays the grower withdrawing consent.
    """
    import errno

    from ._plugins import PluginRegistry
    from .sandbox import build_emulators, mount, serve

    # The plugins alone: serving the emulators needs no store.
    registry = PluginRegistry()
    registry.load_entry_points()
    emulators = build_emulators(registry, {"size": size})
    try:
        running = serve(mount(emulators), port=port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            other = port + 1 if port < 65535 else port - 1
            raise click.ClickException(
                f"port {port} on 127.0.0.1 is in use already (another `fieldlink "
                "sandbox`?); choose a free one with --port, e.g. "
                f"`fieldlink sandbox --port {other}`, and point "
                "FIELDLINK_SANDBOX_URL at the URL it prints"
            ) from None
        raise click.ClickException(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another "
            "port with --port"
        ) from None
    click.echo(f"serving {len(emulators)} emulators at {running.url}/<provider id>")
    click.echo(
        f"point fieldlink at them with: export FIELDLINK_SANDBOX_URL={running.url}"
    )
    try:
        running.thread.join()
    except KeyboardInterrupt:
        running.stop()


@cli.command()
@click.option(
    "--size",
    default=25,
    show_default=True,
    type=SIZE,
    help="Resources seeded per list.",
)
@click.option(
    "--database-url",
    "demo_database",
    help="Store to use [default: a throwaway SQLite file].",
)
def demo(size: int, demo_database: str | None) -> None:
    """Connect a demo grower to every installed provider's emulator and list the data."""
    from ._demo import run_demo

    sys.exit(run_demo(size=size, database_url=demo_database))


def main() -> None:
    cli(prog_name="fieldlink")


if __name__ == "__main__":
    main()
