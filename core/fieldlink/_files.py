"""The one way fieldlink reads a JSON or TOML file that a user names.

Text is UTF-8, with or without the byte-order mark some editors write first. A file
that cannot be decoded or parsed becomes a :class:`~fieldlink.errors.FileFormatError`
naming the file and the line and column, never the content: a credential body
holds secrets.
"""

from __future__ import annotations

import codecs
import json
import re
import tomllib
from pathlib import Path
from typing import IO, Any

from .errors import FileFormatError

#: How a TOML error ends: where it is in the document.
_TOML_POSITION = re.compile(
    r"\s*\(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)$"
)
#: TOML messages quote the offending character: it may belong to a secret.
_TOML_QUOTED_CHARACTER = re.compile(r"(character) '[^']*'|(character) \"[^\"]*\"")


def read_json(source: Path | IO[bytes]) -> Any:
    """The JSON document in ``source``, a path or a file opened in binary mode."""
    name, text = _read_text(source)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise FileFormatError(
            f"{name}: not valid JSON at line {error.lineno}, column {error.colno}: "
            f"{error.msg}",
            file=name,
            line=error.lineno,
            column=error.colno,
        ) from None
    except (RecursionError, ValueError) as error:
        raise _beyond_limits(name, "JSON", error) from None


def read_toml(source: Path | IO[bytes]) -> dict[str, Any]:
    """The TOML document in ``source``, a path or a file opened in binary mode."""
    name, text = _read_text(source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        what = _TOML_QUOTED_CHARACTER.sub(r"\1\2", str(error))
        found = _TOML_POSITION.search(what)
        line = int(found["line"]) if found and found["line"] else None
        column = int(found["column"]) if found and found["column"] else None
        where = f"line {line}, column {column}" if line else "the end"
        what = what[: found.start()] if found else what
        raise FileFormatError(
            f"{name}: not valid TOML at {where}: {what}",
            file=name,
            line=line,
            column=column,
        ) from None
    except (RecursionError, ValueError) as error:
        raise _beyond_limits(name, "TOML", error) from None


def _beyond_limits(
    name: str, kind: str, error: RecursionError | ValueError
) -> FileFormatError:
    """Valid syntax that Python will not read: nesting deeper than its recursion
    limit, or an integer longer than its digit limit."""
    what = (
        "nested too deeply"
        if isinstance(error, RecursionError)
        else "holds a number too long to read"
    )
    return FileFormatError(f"{name}: {kind} that {what}", file=name)


def _read_text(source: Path | IO[bytes]) -> tuple[str, str]:
    """The name to show for ``source``, and its text; OSError when it cannot be read."""
    if isinstance(source, Path):
        return str(source), _decoded(source.read_bytes(), str(source))
    name = getattr(source, "name", "")
    # Standard input, as click and sys name it.
    name = "standard input" if name in ("", "-", "<stdin>") else str(name)
    return name, _decoded(source.read(), name)


def _decoded(data: bytes, name: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileFormatError(
            f"{name}: UTF-16 text (it starts with a UTF-16 byte-order mark), not "
            "UTF-8; save it as UTF-8",
            file=name,
            line=1,
            column=1,
        )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", "replace")) + 1
        raise FileFormatError(
            f"{name}: not UTF-8 text at line {line}, column {column}; save it as UTF-8",
            file=name,
            line=line,
            column=column,
        ) from None
