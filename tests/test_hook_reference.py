"""docs/hooks.md keeps a complete and current entry for every hook.

An entry is a ``## hook_name`` heading; the page's prose sections have headings of
several words. Each entry needs the hook's signature exactly as specified, a line
saying whether the first answer wins or the hook is broadcast, and a Python example
that implements the hook with arguments the hook names.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pluggy
import pytest

from fieldlink import hookspecs

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)
HOOK_NAME = re.compile(r"[a-z_][a-z0-9_]*")
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

FIRST_ANSWER_WINS = "Provider hook: the first answer wins."
BROADCAST = "Observer hook: broadcast to every plugin."

_manager = pluggy.PluginManager(hookspecs.PROJECT)
SPECS: dict[str, Callable[..., Any]] = {
    name: getattr(hookspecs, name)
    for name in dir(hookspecs)
    if _manager.parse_hookspec_opts(hookspecs, name) is not None
}


def entries() -> list[tuple[str, str]]:
    """Each hook entry of the reference: its name and its text to the next heading."""
    text = REFERENCE.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    found = []
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        if HOOK_NAME.fullmatch(heading.group(1)):
            end = following.start() if following else len(text)
            found.append((heading.group(1), text[heading.end() : end]))
    return found


def entry(hook: str) -> str:
    for name, text in entries():
        if name == hook:
            return text
    pytest.fail(f"{REFERENCE.name} has no entry `## {hook}`; add one")


def signature_line(hook: str) -> str:
    """The spec's signature as the reference writes it, on a line of its own."""
    signature = inspect.signature(SPECS[hook])
    arguments = ", ".join(
        f"{name}: {parameter.annotation}"
        for name, parameter in signature.parameters.items()
    )
    return f"`{hook}({arguments}) -> {signature.return_annotation}`"


def test_spec_module_is_read():
    # Guards the tests below against passing on an empty list of hooks.
    assert {"start_auth", "complete_auth", "register_credentials"} <= SPECS.keys()


def test_every_hook_has_an_entry():
    missing = sorted(SPECS.keys() - {name for name, _ in entries()})

    assert not missing, f"{REFERENCE.name} has no entry for: {', '.join(missing)}"


def test_every_entry_names_an_existing_hook_once():
    names = [name for name, _ in entries()]
    unknown = [name for name in names if name not in SPECS]
    repeated = sorted({name for name in names if names.count(name) > 1})

    assert not unknown, f"{REFERENCE.name} documents hooks that do not exist: {unknown}"
    assert not repeated, f"{REFERENCE.name} documents these hooks twice: {repeated}"


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_entry_has_the_signature(hook):
    expected = signature_line(hook)

    assert expected in entry(hook).splitlines(), (
        f"the entry for {hook} needs its signature on a line of its own: {expected}"
    )


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_entry_says_how_answers_are_combined(hook):
    firstresult = _manager.parse_hookspec_opts(hookspecs, hook)["firstresult"]
    expected = FIRST_ANSWER_WINS if firstresult else BROADCAST

    assert expected in entry(hook).splitlines()


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_entry_has_an_example_implementation(hook):
    implementations = [
        node
        for block in PYTHON_BLOCK.findall(entry(hook))
        for node in ast.walk(ast.parse(block))
        if isinstance(node, ast.FunctionDef)
        and node.name == hook
        and any("hookimpl" in ast.unparse(marker) for marker in node.decorator_list)
    ]
    assert implementations, f"the entry for {hook} needs an example with @hookimpl"

    # pluggy's rule: an implementation may take fewer arguments, never others.
    allowed = set(inspect.signature(SPECS[hook]).parameters) | {"self"}
    for implementation in implementations:
        taken = {argument.arg for argument in implementation.args.args}
        assert taken <= allowed, f"the {hook} example takes {sorted(taken - allowed)}"


def test_every_example_is_valid_python():
    for block in PYTHON_BLOCK.findall(REFERENCE.read_text(encoding="utf-8")):
        ast.parse(block)
