"""Credential schemas: loading, checking and validating payloads against them.

jsonschema is imported only when a payload is validated or a schema is checked for
the first time; the result of checking a schema file is cached on disk, keyed by the
file's size and modification time, so that listing providers stays fast.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._paths import cache_dir
from .errors import CredentialValidationError, ValidationIssue

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

DIALECT = "https://json-schema.org/draft/2020-12/schema"
META_SCHEMA_FILE = "credential-schema.meta.json"
_CHECK_CACHE_FILE = "schema-checks.json"


def core_schema_dir() -> Path:
    """Where the core's own schemas are: inside the wheel, or at the top of a checkout."""
    packaged = Path(__file__).with_name("schemas")
    if packaged.is_dir():
        return packaged
    # An editable install imports the package from core/, beside the schemas/ folder.
    return Path(__file__).resolve().parents[2] / "schemas"


class SchemaFileError(ValueError):
    """A schema file cannot be used; the message names the file and the problem."""


def load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaFileError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaFileError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


# Checking schema files


def check_schema_file(path: Path) -> list[str]:
    """Return what is wrong with a credential schema file; an empty list if nothing.

    Answers are cached on disk per file version, since checking needs jsonschema,
    the heaviest import on the path of ``fieldlink providers``.
    """
    try:
        key = _check_key(path)
    except OSError as exc:
        return [f"{path}: cannot be read ({exc.strerror})"]
    cache = _read_check_cache()
    if key in cache:
        return list(cache[key])
    problems = _check_schema_file_now(path)
    cache[key] = problems
    _write_check_cache(cache)
    return problems


def _check_key(path: Path) -> str:
    """Changes whenever the answer could: the file, its neighbours it may $ref, the
    core's schemas, or the core itself."""
    from ._version import __version__

    parts = [__version__, str(path.resolve())]
    for file in [path, *sorted(path.parent.glob("*.json")), *sorted(core_schema_dir().glob("*.json"))]:
        stat = file.stat()
        parts.append(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def _check_schema_file_now(path: Path) -> list[str]:
    import jsonschema

    try:
        schema = load_json(path)
    except SchemaFileError as exc:
        return [str(exc)]
    validator_class = jsonschema.validators.validator_for(schema, default=None)
    if validator_class is None or schema.get("$schema") != DIALECT:
        return [f"{path}: must declare \"$schema\": \"{DIALECT}\""]
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return [f"{path}: not valid JSON Schema at {_json_path(exc.path)}: {exc.message}"]

    meta = load_json(core_schema_dir() / META_SCHEMA_FILE)
    problems = [
        f"{path}: {issue.path}: {issue.message}"
        for issue in _issues(jsonschema.Draft202012Validator(meta), schema)
    ]
    if problems:
        return problems

    # Every example must itself be a valid payload, refs resolved offline.
    validator = _build_validator(schema, path.parent)
    for index, example in enumerate(schema["examples"]):
        for issue in _issues(validator, example):
            problems.append(f"{path}: examples[{index}] {issue.path}: {issue.message}")
    return problems


def _read_check_cache() -> dict[str, list[str]]:
    try:
        data = json.loads((cache_dir() / _CHECK_CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_check_cache(cache: Mapping[str, list[str]]) -> None:
    target = cache_dir() / _CHECK_CACHE_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so that a concurrent reader never sees half a file.
        partial = target.with_name(f"{target.name}.{os.getpid()}")
        partial.write_text(json.dumps(cache), encoding="utf-8")
        partial.replace(target)
    except OSError:
        pass  # The cache only saves time; without it every check runs again.


# Validating payloads


class CredentialSchema:
    """A provider's credential schema, with what the core needs to know about it."""

    def __init__(self, provider: str, path: Path) -> None:
        self.provider = provider
        self.path = path
        self.document: dict[str, Any] = load_json(path)
        properties: Mapping[str, Mapping[str, Any]] = self.document.get("properties", {})
        self.fields = tuple(properties)
        self.required = frozenset(self.document.get("required", ()))
        self.secret_fields = frozenset(
            name for name, spec in properties.items() if spec.get("writeOnly") is True
        )
        self.app_fields = frozenset(
            name for name, spec in properties.items() if spec.get("x-fieldlink-scope") == "app"
        )
        self.examples: list[Mapping[str, Any]] = list(self.document.get("examples", ()))

    @functools.cached_property
    def validator(self) -> Validator:
        return _build_validator(self.document, self.path.parent)

    def issues(self, payload: Any) -> list[ValidationIssue]:
        return _issues(self.validator, payload)

    def validate(self, payload: Any) -> None:
        """Raise :class:`CredentialValidationError` listing every problem, best first."""
        issues = self.issues(payload)
        if issues:
            raise CredentialValidationError(self.provider, issues, schema=str(self.path))

    def mask(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with every secret replaced, for display."""
        return {
            key: ("********" if key in self.secret_fields and value else value)
            for key, value in payload.items()
        }

    def app_subset_issues(self, fields: Mapping[str, Any]) -> list[ValidationIssue]:
        """Check an app registration: the schema's app-level fields, each required one set."""
        issues = [
            ValidationIssue(f"$.{name}", "is not an app-level field of this provider", "scope")
            for name in fields
            if name not in self.app_fields
        ]
        issues += [
            ValidationIssue(f"$.{name}", "is a required property", "required")
            for name in sorted(self.app_fields & self.required)
            if name not in fields
        ]
        probe = {name: value for name, value in fields.items() if name in self.app_fields}
        issues += [
            issue
            for issue in self.issues(probe)
            if issue.validator != "required" and issue.path.split(".")[1] in probe
        ]
        return issues


def _build_validator(schema: Mapping[str, Any], own_dir: Path) -> Validator:
    import jsonschema
    from referencing import Registry, Resource

    # $refs resolve offline: to the core's shared schemas and to the plugin's own files.
    resources = []
    for directory in (core_schema_dir(), own_dir):
        for file in sorted(directory.glob("*.json")):
            document = load_json(file)
            if isinstance(document, dict) and "$id" in document:
                resources.append((document["$id"], Resource.from_contents(document)))
    registry: Registry = Registry().with_resources(resources)
    validator_class = jsonschema.validators.validator_for(schema)
    # Resolving a $ref costs more than the check it leads to: resolve each one once,
    # here, rather than on every payload.
    bundled = _inline_refs(schema, registry.resolver(), depth=0)
    return validator_class(bundled, registry=registry)


#: Keywords whose values are data, not subschemas: never rewritten.
_DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})
#: Keywords that only annotate: a $ref's target and its siblings may both carry them.
_ANNOTATIONS = frozenset({"$comment", "description", "title", "readOnly", "writeOnly"})
_MAX_REF_DEPTH = 16


def _inline_refs(node: Any, resolver: Any, *, depth: int) -> Any:
    """``node`` with each resolvable ``$ref`` replaced by what it points at."""
    from referencing.exceptions import Unresolvable

    if isinstance(node, list):
        return [_inline_refs(item, resolver, depth=depth) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {
        key: value if key in _DATA_KEYWORDS else _inline_refs(value, resolver, depth=depth)
        for key, value in node.items()
        if key != "$ref"
    }
    reference = node.get("$ref")
    if not isinstance(reference, str) or depth >= _MAX_REF_DEPTH:
        return node if reference is not None else inlined
    try:
        resolved = resolver.lookup(reference)
    except Unresolvable:
        return node  # left for the validator to report
    target = _inline_refs(resolved.contents, resolved.resolver, depth=depth + 1)
    if not isinstance(target, dict):
        return node
    clashes = (set(target) & set(inlined)) - _ANNOTATIONS
    if clashes:
        return {**inlined, "allOf": [*inlined.get("allOf", []), target]}
    return {**target, **inlined}


def _issues(validator: Validator, payload: Any) -> list[ValidationIssue]:
    from jsonschema.exceptions import relevance

    errors = sorted(validator.iter_errors(payload), key=relevance)
    return [describe_error(error) for error in _leaves(errors)]


def _leaves(errors: list[ValidationError]) -> Iterator[ValidationError]:
    # anyOf/oneOf failures carry the useful detail in their sub-errors.
    for error in errors:
        if error.context:
            yield from _leaves(sorted(error.context, key=lambda e: -len(e.path)))
        else:
            yield error


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def describe_error(error: ValidationError) -> ValidationIssue:
    """Say what is wrong without quoting the value, which may be a secret."""
    kind = str(error.validator)
    expected = error.validator_value
    path = _json_path(error.absolute_path)
    if kind == "required":
        missing = [name for name in expected if name not in (error.instance or {})]
        name = missing[0] if missing else "?"
        return ValidationIssue(f"{path}.{name}" if path != "$" else f"$.{name}",
                               "is a required property", kind)
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = f"{path}.{extra[0]}" if extra else path
        return ValidationIssue(where, "is not a field of this schema; remove it", kind)
    # Only the failing rule's message is built: an int minLength cannot be joined
    # like an enum's values.
    messages = {
        "type": lambda: f"must be of type {expected}",
        "enum": lambda: f"must be one of {', '.join(map(str, expected))}",
        "const": lambda: f"must be {expected!r}",
        "minLength": lambda: (
            "must not be empty"
            if expected == 1
            else f"must be at least {expected} characters"
        ),
        "maxLength": lambda: f"must be at most {expected} characters",
        "pattern": lambda: f"must match the pattern {expected}",
        "format": lambda: f"must be a valid {expected}",
        "minItems": lambda: f"must have at least {expected} items",
        "minProperties": lambda: f"must have at least {expected} properties",
    }
    message = messages.get(kind)
    text = message() if message else f"fails the {kind} rule of the schema"
    return ValidationIssue(path, text, kind)
