"""Credential schemas: loading, checking and validating payloads against them.

jsonschema is imported only when a payload is validated or a schema is checked for
the first time; the result of checking a schema file is cached on disk, keyed by the
file's size and modification time, so that listing providers stays fast.
:func:`schema_file_problems` gives the same checks uncached, each problem with its
file, JSON path and fix, for ``fieldlink check``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._files import read_json
from ._paths import cache_dir
from .errors import CredentialValidationError, FileFormatError, ValidationIssue

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry, Resource

DIALECT = "https://json-schema.org/draft/2020-12/schema"
META_SCHEMA_FILE = "credential-schema.meta.json"
#: Named after the answers' format: a new format must not read old answers.
_CHECK_CACHE_FILE = "schema-checks-2.json"


def core_schema_dir() -> Path:
    """Where the core's own schemas are: inside the wheel, or at the top of a checkout."""
    packaged = Path(__file__).with_name("schemas")
    if packaged.is_dir():
        return packaged
    # An editable install imports the package from core/, beside the schemas/ folder.
    return Path(__file__).resolve().parents[2] / "schemas"


class SchemaFileError(ValueError):
    """A schema file cannot be used; the message names the file and the problem."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        #: Where the JSON syntax breaks, if that is the problem.
        self.line = line


def load_json(path: Path) -> Any:
    try:
        return read_json(path)
    except OSError as exc:
        raise SchemaFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except FileFormatError as exc:
        raise SchemaFileError(str(exc), line=exc.line) from None


# Checking schema files


@attrs.frozen
class SchemaProblem:
    """One thing wrong with a schema file: where, what, and how to fix it."""

    file: Path
    #: JSON path of the offending value in the file; None for the file as a whole.
    path: str | None
    message: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else str(self.file)
        return f"{where}: {self.message}"


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
    problems = [str(problem) for problem in schema_file_problems(path)]
    cache[key] = problems
    _write_check_cache(cache)
    return problems


def _check_key(path: Path) -> str:
    """Changes whenever the answer could: the file, its neighbours it may $ref, the
    core's schemas, or the core itself."""
    from ._version import __version__

    parts = [__version__, str(path.resolve())]
    for file in [
        path,
        *sorted(path.parent.glob("*.json")),
        *sorted(core_schema_dir().glob("*.json")),
    ]:
        stat = file.stat()
        parts.append(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def schema_file_problems(path: Path) -> list[SchemaProblem]:
    """Check a credential schema file: JSON, JSON Schema 2020-12, the core's
    meta-schema, every ``$ref`` resolved offline, and every example valid.

    Every problem is reported at once. A check is left out only where an earlier
    failure leaves it nothing to check (a file that is not a JSON object) or cannot
    be trusted (``$ref``s in what is not JSON Schema, examples against a schema
    whose ``$ref``s do not resolve).
    """
    try:
        schema = load_json(path)
    except SchemaFileError as exc:
        return [_unreadable(path, exc)]
    if not isinstance(schema, dict):
        return [
            SchemaProblem(
                path,
                "$",
                "must be a JSON object",
                "write the schema as one JSON object: {...}",
            )
        ]

    problems = _json_schema_problems(path, schema)
    invalid = {problem.path for problem in problems}
    # A keyword JSON Schema already faults is not faulted twice.
    problems += [
        SchemaProblem(path, issue.path, issue.message, _meta_fix(issue.path))
        for issue in _issues(_meta_validator(), schema)
        if issue.path not in invalid
    ]
    if invalid:
        return problems
    unresolved = unresolved_refs(path, schema)
    problems += unresolved
    if not unresolved:
        problems += _example_problems(path, schema)
    return problems


def _json_schema_problems(path: Path, schema: Mapping[str, Any]) -> list[SchemaProblem]:
    """Where ``schema`` breaks the rules of JSON Schema 2020-12 itself."""
    import jsonschema
    from jsonschema.exceptions import relevance

    dialect = jsonschema.Draft202012Validator
    validator = dialect(dialect.META_SCHEMA, format_checker=dialect.FORMAT_CHECKER)
    problems: dict[tuple[str, str], SchemaProblem] = {}
    for error in sorted(validator.iter_errors(schema), key=relevance):
        where = _json_path(error.absolute_path)
        problems.setdefault(
            (where, error.message),
            SchemaProblem(
                path,
                where,
                f"not valid JSON Schema: {error.message}",
                "correct this keyword; the rules are those of JSON Schema 2020-12",
            ),
        )
    return list(problems.values())


def _example_problems(path: Path, schema: Mapping[str, Any]) -> list[SchemaProblem]:
    """Every example must itself be a valid payload, refs resolved offline."""
    examples = schema.get("examples")
    if not isinstance(examples, list):
        return []  # the meta-schema says what is wrong with them
    validator = _build_validator(schema, path.parent)
    return [
        SchemaProblem(
            path,
            f"$.examples[{index}]{issue.path[1:]}",
            issue.message,
            f"correct examples[{index}]: it must be a payload the schema "
            "accepts, as a host would post it",
        )
        for index, example in enumerate(examples)
        for issue in _issues(validator, example)
    ]


#: What a field's name says when it holds a secret, lower-cased with its separators
#: dropped: clientSecret, password, refreshToken, privateKey, apiKey, accessKey...
#: An access key is only an id at some providers: those say so, "writeOnly": false.
_SECRET_NAME = re.compile(
    r"secret|passw(or)?d|passphrase|token|(private|api|access|subscription|signing)key"
)


def unmarked_secrets(path: Path) -> list[SchemaProblem]:
    """The payload fields whose name says they are secret but whose schema does not
    say whether they are: neither ``"writeOnly": true`` nor ``"writeOnly": false``.
    A field left unmarked is shown by ``fieldlink credentials show`` and stored
    unmasked."""
    try:
        schema = load_json(path)
    except SchemaFileError:
        return []  # reported by schema_file_problems
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return []
    return [
        SchemaProblem(
            path,
            f"$.properties.{name}.writeOnly",
            f"{name!r} is named like a secret but is not marked writeOnly",
            'add "writeOnly": true, so that it is encrypted at rest, masked in '
            "output and never quoted in errors; if it is not a secret, say so with "
            '"writeOnly": false',
        )
        for name, spec in properties.items()
        if isinstance(spec, dict)
        and "writeOnly" not in spec
        and _SECRET_NAME.search(re.sub(r"[^a-z0-9]", "", name.lower()))
    ]


def _unreadable(path: Path, exc: SchemaFileError) -> SchemaProblem:
    fix = (
        "correct the JSON syntax there"
        if exc.line
        else "ship the file in the package and name it in describe_provider's "
        "credential_schema"
    )
    # The message already starts with the file's name.
    message = str(exc).removeprefix(f"{path}: ")
    return SchemaProblem(path, None, message, fix, line=exc.line)


#: How to satisfy each rule of the meta-schema, by the name its JSON path ends in.
_META_FIXES = {
    "x-fieldlink-scope": 'add "x-fieldlink-scope": "app" for a field of the host\'s '
    'app registration, "user" for one that belongs to a connected user',
    "writeOnly": 'set "writeOnly": true on a secret, false otherwise',
    "examples": 'add "examples": a list of at least one payload the schema accepts',
    "additionalProperties": 'set "additionalProperties": false, so that unknown '
    "fields are refused",
    "type": 'set "type": "object"',
    "properties": 'describe each field of the payload under "properties"',
    "required": 'list the fields a payload must carry in "required"',
    "$schema": f'set "$schema": "{DIALECT}"',
    "$id": 'give the schema a "$id", such as "urn:fieldlink:<provider id>:credentials"',
    "title": 'give the schema a "title"',
}


def _meta_fix(path: str) -> str:
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    default = f"satisfy the core's meta-schema ({META_SCHEMA_FILE})"
    return _META_FIXES.get(name, default)


def unresolved_refs(path: Path, schema: Mapping[str, Any]) -> list[SchemaProblem]:
    """Every ``$ref`` of ``schema`` and of the plugin's other schema files (those
    beside it) that does not resolve offline, with its JSON path."""
    from referencing import Resource

    registry = _registry(path.parent)
    documents = [(path, schema)] + [
        (file, document)
        for file, document in _own_documents(path.parent)
        if file.resolve() != path.resolve()
    ]
    problems = []
    for file, document in documents:
        resource = Resource.from_contents(document, default_specification=_dialect())
        resolver = registry.resolver_with_root(resource)
        for where, reference in _refs(document, "$"):
            if not _resolves(resolver, reference):
                problems.append(
                    SchemaProblem(
                        file,
                        where,
                        f"$ref {reference!r} does not resolve offline",
                        "point it at a schema of the plugin's own files (by their "
                        "$id) or of the core's shared schemas, such as "
                        "urn:fieldlink:definitions#/$defs/token",
                    )
                )
    return problems


def _refs(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """The JSON path and value of each ``$ref`` under ``node``."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _refs(item, f"{where}[{index}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield f"{where}.$ref", value
            elif key not in _DATA_KEYWORDS:
                yield from _refs(value, f"{where}.{key}")


def _resolves(resolver: Any, reference: str) -> bool:
    from referencing.exceptions import Unresolvable

    try:
        resolver.lookup(reference)
    except Unresolvable:
        return False
    return True


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
        properties: Mapping[str, Mapping[str, Any]] = self.document.get(
            "properties", {}
        )
        self.fields = tuple(properties)
        self.required = frozenset(self.document.get("required", ()))
        self.secret_fields = frozenset(
            name for name, spec in properties.items() if spec.get("writeOnly") is True
        )
        self.app_fields = frozenset(
            name
            for name, spec in properties.items()
            if spec.get("x-fieldlink-scope") == "app"
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
            raise CredentialValidationError(
                self.provider, issues, schema=str(self.path)
            )

    def mask(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload with every secret replaced, for display."""
        return {
            key: ("********" if key in self.secret_fields and value else value)
            for key, value in payload.items()
        }

    def app_subset_issues(self, fields: Mapping[str, Any]) -> list[ValidationIssue]:
        """Check an app registration: the schema's app-level fields, each required one set."""
        issues = [
            ValidationIssue(
                f"$.{name}", "is not an app-level field of this provider", "scope"
            )
            for name in fields
            if name not in self.app_fields
        ]
        issues += [
            ValidationIssue(f"$.{name}", "is a required property", "required")
            for name in sorted(self.app_fields & self.required)
            if name not in fields
        ]
        probe = {
            name: value for name, value in fields.items() if name in self.app_fields
        }
        issues += [
            issue
            for issue in self.issues(probe)
            if issue.validator != "required" and issue.path.split(".")[1] in probe
        ]
        return issues


@functools.cache
def _dialect() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


@functools.cache
def _meta_validator() -> Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_json(core_schema_dir() / META_SCHEMA_FILE)
    )


@functools.cache
def _core_resources() -> tuple[tuple[str, Resource], ...]:
    # The core's schemas do not change while a process runs: read them once.
    return tuple(_resources(core_schema_dir()))


def _resources(directory: Path) -> Iterator[tuple[str, Resource]]:
    from referencing import Resource

    for _, document in _own_documents(directory):
        if "$id" in document:
            dialect = _dialect()
            yield document["$id"], Resource.from_contents(document, dialect)


def _own_documents(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The JSON objects in ``directory``; files that cannot be read are left to the
    check of the credential schema itself."""
    for file in sorted(directory.glob("*.json")):
        try:
            document = load_json(file)
        except SchemaFileError:
            continue
        if isinstance(document, dict):
            yield file, document


def _registry(own_dir: Path) -> Registry:
    from referencing import Registry

    # $refs resolve offline: to the core's shared schemas and to the plugin's own files.
    resources = [*_core_resources(), *_resources(own_dir)]
    registry: Registry = Registry().with_resources(resources)
    return registry


def _build_validator(schema: Mapping[str, Any], own_dir: Path) -> Validator:
    import jsonschema

    registry = _registry(own_dir)
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
        key: value
        if key in _DATA_KEYWORDS
        else _inline_refs(value, resolver, depth=depth)
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
    # jsonschema raises a `required` error per missing property, each carrying the
    # whole list: keep the first report of each path and problem.
    issues: dict[tuple[str, str], ValidationIssue] = {}
    for error in _leaves(errors):
        for issue in describe_error(error):
            issues.setdefault((issue.path, issue.message), issue)
    return list(issues.values())


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


def describe_error(error: ValidationError) -> list[ValidationIssue]:
    """Say what is wrong without quoting the value, which may be a secret.

    An error about properties gives an issue per property it concerns, each at its
    own path: property names are shown, never their values.
    """
    kind = str(error.validator)
    expected = error.validator_value
    path = _json_path(error.absolute_path)
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [
            ValidationIssue(f"{path}.{name}", "is a required property", kind)
            for name in expected
            if name not in present
        ]
    if kind == "additionalProperties":
        return [
            ValidationIssue(
                f"{path}.{name}", "is not a field of this schema; remove it", kind
            )
            for name in _extra_properties(error)
        ]
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
        "maxItems": lambda: f"must have at most {expected} items",
        "minimum": lambda: f"must be at least {expected}",
        "maximum": lambda: f"must be at most {expected}",
        # A "not" guards a field that another one excludes (a password beside a token).
        "not": lambda: "is not allowed here; remove it",
    }
    message = messages.get(kind)
    text = message() if message else f"fails the {kind} rule of the schema"
    return [ValidationIssue(path, text, kind)]


def _extra_properties(error: ValidationError) -> list[str]:
    """The properties an ``additionalProperties: false`` error refuses, in order."""
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [
        name
        for name in error.instance
        if name not in known and not any(re.search(p, name) for p in patterns)
    ]
