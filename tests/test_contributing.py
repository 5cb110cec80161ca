"""CONTRIBUTING.md links every hook to its entry in the hook reference."""

from __future__ import annotations

import re
from pathlib import Path

import pluggy

from fieldlink import hookspecs

ROOT = Path(__file__).resolve().parents[1]


def test_every_hook_is_linked_to_its_reference_entry():
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    hooks = {
        name
        for name in dir(hookspecs)
        if manager.parse_hookspec_opts(hookspecs, name) is not None
    }
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    reference = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")

    linked = set(re.findall(r"\]\(docs/hooks\.md#([a-z_]+)\)", guide))
    entries = set(re.findall(r"^## ([a-z_]+)$", reference, re.MULTILINE))

    assert linked == hooks, "link each hook in CONTRIBUTING.md's table of hooks"
    assert linked <= entries
