"""Just enough GraphQL for the Sentera emulator: parse one query, check it against a
small schema, bind its variables and shape the answer to its selections.

It reads what a client may reasonably send (operation names, variable definitions,
aliases, nested input objects, comments) and refuses the rest (fragments,
directives, mutations) with the error a GraphQL server would give.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

_TOKEN = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&():=@\[\]{|}])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<string>"(?:[^"\\\n\r]|\\.)*")
    """,
    re.VERBOSE,
)
_LITERAL_NAMES = {"true": True, "false": False, "null": None}


class GraphQLError(Exception):
    """A query the emulator refuses; the message is what the client reads."""


@attrs.frozen
class Variable:
    name: str


@attrs.frozen
class Field:
    name: str
    alias: str | None
    arguments: Mapping[str, Any]
    selections: tuple[Field, ...]

    @property
    def key(self) -> str:
        return self.alias or self.name


@attrs.frozen
class Operation:
    kind: str
    name: str | None
    #: Declared variables and their types, as written (``PaginationInput!``).
    variables: Mapping[str, str]
    selections: tuple[Field, ...]


# Parsing


def parse(document: str, operation_name: str | None = None) -> Operation:
    """The operation of ``document`` to run: the only one, or the one named."""
    operations = _Parser(document).document()
    if operation_name is not None:
        for operation in operations:
            if operation.name == operation_name:
                return operation
        raise GraphQLError(f'Unknown operation named "{operation_name}".')
    if len(operations) > 1:
        raise GraphQLError(
            "Must provide operation name if query contains multiple operations."
        )
    return operations[0]


class _Parser:
    def __init__(self, document: str) -> None:
        self.tokens = list(_tokens(document))
        self.at = 0

    def document(self) -> list[Operation]:
        operations = []
        while self.at < len(self.tokens):
            operations.append(self.operation())
        if not operations:
            raise GraphQLError("Syntax Error: Unexpected <EOF>.")
        return operations

    def operation(self) -> Operation:
        if self.peek("{"):
            return Operation("query", None, {}, self.selection_set())
        kind = self.take("name")
        if kind == "fragment":
            raise GraphQLError("Fragments are not supported by the Sentera sandbox.")
        if kind not in ("query", "mutation", "subscription"):
            raise GraphQLError(f'Syntax Error: Unexpected Name "{kind}".')
        name = self.take("name") if self.peek_kind("name") else None
        variables = self.variable_definitions() if self.peek("(") else {}
        self.refuse_directives()
        return Operation(kind, name, variables, self.selection_set())

    def variable_definitions(self) -> dict[str, str]:
        self.take("punct", "(")
        definitions: dict[str, str] = {}
        while not self.peek(")"):
            self.take("punct", "$")
            name = self.take("name")
            self.take("punct", ":")
            definitions[name] = self.type_reference()
            if self.peek("="):
                raise GraphQLError(
                    "Variable defaults are not supported by the Sentera sandbox."
                )
        self.take("punct", ")")
        return definitions

    def type_reference(self) -> str:
        if self.peek("["):
            self.take("punct", "[")
            text = f"[{self.type_reference()}]"
            self.take("punct", "]")
        else:
            text = self.take("name")
        if self.peek("!"):
            self.take("punct", "!")
            text += "!"
        return text

    def selection_set(self) -> tuple[Field, ...]:
        self.take("punct", "{")
        fields = []
        while not self.peek("}"):
            if self.peek_kind("spread"):
                raise GraphQLError(
                    "Fragments are not supported by the Sentera sandbox."
                )
            fields.append(self.field())
        self.take("punct", "}")
        if not fields:
            raise GraphQLError('Syntax Error: Expected Name, found "}".')
        return tuple(fields)

    def field(self) -> Field:
        alias, name = None, self.take("name")
        if self.peek(":"):
            self.take("punct", ":")
            alias, name = name, self.take("name")
        arguments = self.arguments() if self.peek("(") else {}
        self.refuse_directives()
        selections = self.selection_set() if self.peek("{") else ()
        return Field(name, alias, arguments, selections)

    def arguments(self) -> dict[str, Any]:
        self.take("punct", "(")
        arguments = {}
        while not self.peek(")"):
            name = self.take("name")
            self.take("punct", ":")
            arguments[name] = self.value()
        self.take("punct", ")")
        return arguments

    def value(self) -> Any:
        kind, text = self.next()
        if kind == "punct" and text == "$":
            return Variable(self.take("name"))
        if kind == "number":
            return float(text) if any(mark in text for mark in ".eE") else int(text)
        if kind == "string":
            # A GraphQL string's escapes are JSON's.
            return json.loads(text)
        if kind == "name":
            # Enum values are passed on as their names.
            return _LITERAL_NAMES.get(text, text)
        if kind == "punct" and text == "[":
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("punct", "]")
            return items
        if kind == "punct" and text == "{":
            members = {}
            while not self.peek("}"):
                name = self.take("name")
                self.take("punct", ":")
                members[name] = self.value()
            self.take("punct", "}")
            return members
        raise GraphQLError(f'Syntax Error: Unexpected "{text}".')

    def refuse_directives(self) -> None:
        if self.peek("@"):
            raise GraphQLError("Directives are not supported by the Sentera sandbox.")

    # Tokens

    def peek(self, punct: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at] == ("punct", punct)

    def peek_kind(self, kind: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at][0] == kind

    def next(self) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise GraphQLError("Syntax Error: Unexpected <EOF>.")
        token = self.tokens[self.at]
        self.at += 1
        return token

    def take(self, kind: str, text: str | None = None) -> str:
        found_kind, found = self.next()
        if found_kind != kind or (text is not None and found != text):
            expected = f'"{text}"' if text is not None else kind.capitalize()
            raise GraphQLError(f'Syntax Error: Expected {expected}, found "{found}".')
        return found


def _tokens(document: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(document):
        match = _TOKEN.match(document, position)
        if match is None:
            raise GraphQLError(
                f"Syntax Error: Unexpected character {document[position]!r}."
            )
        position = match.end()
        if match.lastgroup != "ignored":
            yield str(match.lastgroup), match.group()


# Checking and answering


@attrs.frozen
class Schema:
    """Object types as ``{type: {field: child type, or None for a scalar}}``; the
    root query's fields with the arguments each takes."""

    types: Mapping[str, Mapping[str, str | None]]
    queries: Mapping[str, tuple[str, frozenset[str]]]

    def check(self, operation: Operation) -> None:
        """Refuse what a GraphQL server's validation would, before anything runs."""
        if operation.kind != "query":
            raise GraphQLError(
                f"Schema is not configured for {operation.kind}s: the Sentera sandbox "
                "answers queries only."
            )
        for field in operation.selections:
            if field.name not in self.queries:
                raise GraphQLError(
                    f"Field '{field.name}' doesn't exist on type 'Query'"
                )
            type_name, accepted = self.queries[field.name]
            for argument in field.arguments:
                if argument not in accepted:
                    raise GraphQLError(
                        f"Field '{field.name}' doesn't accept argument '{argument}'"
                    )
            self._check_selections(field, type_name)
        self._check_variables(operation)

    def _check_selections(self, field: Field, type_name: str) -> None:
        if not field.selections:
            raise GraphQLError(
                f"Field '{field.name}' of type '{type_name}' must have a selection of "
                "subfields."
            )
        for child in field.selections:
            if child.name == "__typename":
                continue
            if child.name not in self.types[type_name]:
                raise GraphQLError(
                    f"Field '{child.name}' doesn't exist on type '{type_name}'"
                )
            if child.arguments:
                raise GraphQLError(f"Field '{child.name}' doesn't accept arguments")
            child_type = self.types[type_name][child.name]
            if child_type is not None:
                self._check_selections(child, child_type)
            elif child.selections:
                raise GraphQLError(
                    f"Selections can't be made on scalars (field '{child.name}')"
                )

    @staticmethod
    def _check_variables(operation: Operation) -> None:
        label = operation.name or "anonymous"
        used = {
            name
            for field in operation.selections
            for name in _variables(field.arguments)
        }
        undefined = sorted(used - set(operation.variables))
        if undefined:
            raise GraphQLError(
                f'Variable "${undefined[0]}" is not defined by operation "{label}".'
            )
        unused = sorted(set(operation.variables) - used)
        if unused:
            raise GraphQLError(
                f'Variable "${unused[0]}" is never used in operation "{label}".'
            )

    def shape(self, value: Any, type_name: str, selections: tuple[Field, ...]) -> Any:
        """``value`` cut down to the selected fields, under their aliases."""
        if value is None:
            return None
        if isinstance(value, list):
            return [self.shape(item, type_name, selections) for item in value]
        answer = {}
        for field in selections:
            if field.name == "__typename":
                answer[field.key] = type_name
                continue
            child_type = self.types[type_name][field.name]
            child = value.get(field.name)
            answer[field.key] = (
                child
                if child_type is None
                else self.shape(child, child_type, field.selections)
            )
        return answer


def bind(
    operation: Operation, variables: Mapping[str, Any], field: Field
) -> dict[str, Any]:
    """``field``'s arguments with the request's variables put in."""
    for name, type_text in operation.variables.items():
        if type_text.endswith("!") and variables.get(name) is None:
            raise GraphQLError(
                f'Variable "${name}" of required type "{type_text}" was not provided.'
            )
    return {name: _resolve(value, variables) for name, value in field.arguments.items()}


def _resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, dict):
        return {name: _resolve(item, variables) for name, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, variables) for item in value]
    return value


def _variables(value: Any) -> Iterator[str]:
    if isinstance(value, Variable):
        yield value.name
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from _variables(item)
