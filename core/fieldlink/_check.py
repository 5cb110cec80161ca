"""``fieldlink check``: prove that a provider plugin keeps its contract.

A plugin is checked as installed (named by provider id or distribution) or as a
source tree, before it is installed: the tree's ``pyproject.toml`` names the entry
point, and the tree goes on ``sys.path`` to load it. The checks are the loader's own
(:mod:`fieldlink._plugins`, :mod:`fieldlink._schemas`), run to the end instead of
stopping at the first failure, plus what a host needs from a complete description
and every secret of the credential schema marked ``writeOnly``. Every problem names
its file, the JSON path where one applies, and the fix.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import json
import re
import sys
import sysconfig
import traceback
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
import pluggy

from . import hookspecs
from ._files import read_toml
from ._plugins import (
    ENTRY_POINT_GROUP,
    PluginRegistry,
    _entry_points,
    _version_tuple,
    core_version_problem,
    description_problem,
)
from ._schemas import SchemaProblem, schema_file_problems, unmarked_secrets
from .errors import FileFormatError
from .models import ProviderInfo

HOOK_REFERENCE = "the hook reference (docs/hooks.md)"


@attrs.frozen
class Problem:
    """One broken rule: what, where, and how to fix it."""

    #: Which rule: entry-point, hooks, description, core-version, schema, secret,
    #: duplicate.
    check: str
    message: str
    fix: str
    file: Path | None = None
    line: int | None = None
    #: JSON path of the offending value, in a schema file.
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "message": self.message,
            "fix": self.fix,
            "file": None if self.file is None else str(self.file),
            "line": self.line,
            "path": self.path,
        }


@attrs.frozen
class Report:
    """What checking one plugin found."""

    name: str
    distribution: str | None
    #: "installed", or the source tree checked.
    origin: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@attrs.frozen
class _Target:
    name: str
    entry_point: importlib.metadata.EntryPoint | None
    distribution: str | None
    tree: Path | None = None


class TargetError(ValueError):
    """A name that is neither an installed plugin nor a plugin's source tree."""


# Finding what to check


def check_plugins(names: Sequence[str] = ()) -> list[Report]:
    """Check the plugins ``names`` designates (all installed ones if none): provider
    ids, distribution names, or paths of source trees."""
    targets = [target for name in names for target in _targets(name)]
    if not names:
        installed = sorted(_entry_points(), key=lambda ep: (ep.name, ep.value))
        targets = [_installed(entry_point) for entry_point in installed]
    return [_check_target(target) for target in targets]


def _targets(name: str) -> list[_Target]:
    path = Path(name)
    if path.name == "pyproject.toml" and path.is_file():
        return _tree_targets(path.parent)
    # A name with a folder in it (./acme, plugins/acme) can only be a source tree.
    if (path / "pyproject.toml").is_file() or path.name != name:
        return _tree_targets(path)
    wanted = _canonical(name)
    found = [
        _installed(entry_point)
        for entry_point in _entry_points()
        if name == entry_point.name or wanted == _canonical(_distribution(entry_point))
    ]
    if not found:
        known = sorted({ep.name for ep in _entry_points()}) or ["none"]
        installed = f"an installed provider plugin (installed: {', '.join(known)})"
        if path.is_dir():
            raise TargetError(
                f"{name!r} is not {installed}, and the folder {name} is not a "
                "plugin's source tree: it has no pyproject.toml"
            )
        raise TargetError(f"{name!r} is neither {installed} nor a plugin's source tree")
    return found


def _installed(entry_point: importlib.metadata.EntryPoint) -> _Target:
    return _Target(entry_point.name, entry_point, _distribution(entry_point))


def _distribution(entry_point: importlib.metadata.EntryPoint) -> str | None:
    return entry_point.dist.name if entry_point.dist else None


def _canonical(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def _tree_targets(tree: Path) -> list[_Target]:
    pyproject = tree / "pyproject.toml"
    if not tree.exists():
        raise TargetError(
            f"{tree} does not exist: name a plugin's source tree, or an installed "
            "plugin's provider id or distribution"
        )
    if not tree.is_dir():
        raise TargetError(
            f"{tree} is a file, not a plugin's source tree: name the folder that "
            "holds its pyproject.toml"
        )
    if not pyproject.is_file():
        raise TargetError(
            f"{tree} is not a plugin's source tree: it has no pyproject.toml"
        )
    try:
        document = read_toml(pyproject)
    except OSError as exc:
        raise TargetError(f"{pyproject}: cannot be read ({exc.strerror})") from None
    except FileFormatError as exc:
        raise TargetError(str(exc)) from None
    project = document.get("project", {})
    distribution = project.get("name")
    declared = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    if not declared:
        # Reported as the plugin's failure: the tree exists but declares no provider.
        return [_Target(distribution or tree.name, None, distribution, tree)]
    return [
        _Target(
            name,
            importlib.metadata.EntryPoint(
                name=name, value=value, group=ENTRY_POINT_GROUP
            ),
            distribution,
            tree,
        )
        for name, value in declared.items()
    ]


# Checking one plugin


def _check_target(target: _Target) -> Report:
    origin = "installed" if target.tree is None else str(target.tree)
    if target.entry_point is None:
        problem = Problem(
            "entry-point",
            f"declares no entry point in the group {ENTRY_POINT_GROUP!r}",
            f'add to pyproject.toml: [project.entry-points."{ENTRY_POINT_GROUP}"] '
            '<provider id> = "fieldlink_<id>:plugin"',
            file=_pyproject(target),
        )
        return Report(target.name, target.distribution, origin, (problem,))

    if target.tree is not None:
        _put_on_path(target.tree)
    try:
        plugin = target.entry_point.load()
    except (Exception, SystemExit) as exc:  # a plugin's import may fail in any way
        problem = _import_problem(exc, target.entry_point.value, _pyproject(target))
        return Report(target.name, target.distribution, origin, (problem,))

    problems = check_plugin(target.name, plugin)
    problems += _duplicates(target)
    return Report(target.name, target.distribution, origin, tuple(problems))


def _put_on_path(tree: Path) -> None:
    source = tree / "src" if (tree / "src").is_dir() else tree
    entry = str(source.resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)
        importlib.invalidate_caches()


def _pyproject(target: _Target) -> Path | None:
    return None if target.tree is None else target.tree / "pyproject.toml"


def _import_problem(
    exc: BaseException, reference: str, pyproject: Path | None
) -> Problem:
    """Why the entry point ``reference`` does not load, pointing at the line that
    failed, or else at the pyproject.toml that declares it."""
    if isinstance(exc, SyntaxError):
        file, line = exc.filename, exc.lineno
        fix = "correct the syntax there"
    else:
        file, line = _raised_in(exc)
        fix = f"make `{reference}` importable; import it in Python to see the traceback"
    module = reference.partition(":")[0]
    if isinstance(exc, ModuleNotFoundError) and exc.name in _parents(module):
        fix = (
            f"the entry point names {reference!r}, which is not there: correct the "
            "entry point or the package's name"
        )
    return Problem(
        "entry-point",
        f"cannot be imported: {exc!r}",
        fix,
        file=Path(file) if file else pyproject,
        line=line if file else None,
    )


def _parents(module: str) -> set[str]:
    """``a.b.c`` and the packages it is in: ``a.b`` and ``a``."""
    parts = module.split(".")
    return {".".join(parts[:index]) for index in range(1, len(parts) + 1)}


def _raised_in(exc: BaseException) -> tuple[str | None, int | None]:
    """The last frame of the traceback in installed code (the plugin's, or a
    library's it imports), not in Python's own modules such as importlib."""
    paths = sysconfig.get_paths()
    installed = (paths["purelib"], paths["platlib"])
    python = ("<", paths["stdlib"], paths["platstdlib"])
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename.startswith(installed) or not frame.filename.startswith(python)
    ]
    return (frames[-1].filename, frames[-1].lineno) if frames else (None, None)


def check_plugin(name: str, plugin: Any) -> list[Problem]:
    """Check a loaded plugin object, offered under the entry point ``name``."""
    problems = []
    registry = PluginRegistry()
    reason = registry.register_hooks(name, plugin)
    if reason:
        problems.append(_hook_problem(plugin, reason))

    try:
        info = registry.describe_plugin(plugin) if not reason else _describe(plugin)
    except Exception as exc:
        fix = "make describe_provider return the plugin's ProviderInfo, never raise"
        problems.append(_description(plugin, f"describe_provider failed: {exc!r}", fix))
        return problems
    reason = description_problem(info, name)
    if reason:
        fix = (
            f"set ProviderInfo(id={name!r}) or rename the entry point"
            if isinstance(info, ProviderInfo)
            else "implement describe_provider and return a fieldlink.ProviderInfo"
        )
        problems.append(_description(plugin, reason, fix))
    if not isinstance(info, ProviderInfo):
        return problems

    problems += [_description(plugin, *problem) for problem in _incomplete(info)]
    reason = core_version_problem(info.min_core_version)
    if reason:
        fix = (
            "lower min_core_version to the oldest core the plugin works with, or "
            "upgrade fieldlink"
            if _version_tuple(info.min_core_version)
            else "write min_core_version as a version string, such as '0.1.0'"
        )
        problems.append(Problem("core-version", reason, fix, *_where(plugin)))
    problems += _schema_problems(info)
    return problems


def _describe(plugin: Any) -> Any:
    """Ask a plugin whose hooks did not register what it says of itself."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    if manager.parse_hookimpl_opts(plugin, "describe_provider") is None:
        return None
    return plugin.describe_provider()


def _hook_problem(plugin: Any, reason: str) -> Problem:
    message = "; ".join(line.strip() for line in reason.splitlines() if line.strip())
    culprits = [
        hook for hook in _implemented(plugin) if re.search(rf"\b{hook}\b", reason)
    ]
    if not culprits:
        fix = f"make each hook match its specification; see {HOOK_REFERENCE}"
        return Problem("hooks", message, fix, *_where(plugin))
    hook = culprits[0]
    spec = getattr(hookspecs, hook, None)
    if spec is None:
        known = _spec_names()
        close = difflib.get_close_matches(hook, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        fix = (
            f"rename {hook} to one of the hooks in {HOOK_REFERENCE}{hint}, or "
            "remove its @hookimpl marker"
        )
    else:
        allowed = ", ".join(inspect.signature(spec).parameters)
        fix = (
            f"{hook} may take only arguments its specification names ({allowed}), "
            "in any order; remove the others"
        )
    return Problem("hooks", message, fix, *_where(getattr(plugin, hook)))


def _implemented(plugin: Any) -> list[str]:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    return [name for name in dir(plugin) if manager.parse_hookimpl_opts(plugin, name)]


def _spec_names() -> list[str]:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    return [
        name
        for name in dir(hookspecs)
        if manager.parse_hookspec_opts(hookspecs, name) is not None
    ]


def _where(thing: Any) -> tuple[Path | None, int | None]:
    """The file and line that define ``thing``: a function, class or module; for an
    instance, its class."""
    if not (
        inspect.isroutine(thing) or inspect.isclass(thing) or inspect.ismodule(thing)
    ):
        thing = type(thing)
    thing = inspect.unwrap(thing)
    try:
        file = inspect.getsourcefile(thing)
        line = None if inspect.ismodule(thing) else inspect.getsourcelines(thing)[1]
    except (OSError, TypeError):  # built in, or defined without a source file
        return None, None
    return (Path(file) if file else None), line


def _description(plugin: Any, message: str, fix: str) -> Problem:
    return Problem("description", message, fix, *_where(plugin))


def _incomplete(info: ProviderInfo) -> Iterator[tuple[str, str]]:
    """What a complete description lacks, with the fix. ``auth_kind`` needs no check:
    ProviderInfo refuses a value that is not an AuthKind when it is built."""
    if not info.name.strip():
        yield "name is empty", "set ProviderInfo(name=...) to the name users know"
    if _version_tuple(info.version) is None:
        yield (
            f"version {info.version!r} is not a version",
            "set ProviderInfo(version=...) to the plugin's version, such as '1.0.0'",
        )
    if not info.resource_kinds:
        yield (
            "resource_kinds is empty",
            "list the kinds list_resources serves, such as ('farms', 'fields')",
        )
    for kind, parent in info.resource_parents.items():
        for named in (kind, parent):
            if named not in info.resource_kinds:
                yield (
                    f"resource_parents names {named!r}, which resource_kinds lacks",
                    f"add {named!r} to resource_kinds or drop it from resource_parents",
                )
    url = urlsplit(info.documentation_url or "")
    if url.scheme not in ("http", "https") or not url.netloc:
        yield (
            f"documentation_url {info.documentation_url!r} is not a web address",
            "set documentation_url to the provider's developer documentation",
        )
    if not info.endpoints:
        yield (
            "endpoints names no environment",
            "set endpoints={'PRODUCTION': {'authorize_url': ..., 'token_url': ...}}",
        )
    if not info.credential_schema.is_absolute():
        yield (
            f"credential_schema {str(info.credential_schema)!r} is a relative path",
            'build it from the package: Path(__file__).with_name("schemas") / ...',
        )


def _schema_problems(info: ProviderInfo) -> list[Problem]:
    """The schema file's problems, then its secrets that are not marked as such."""
    problems = [
        _schema_problem("secret", problem)
        for problem in unmarked_secrets(info.credential_schema)
    ]
    try:
        found = schema_file_problems(info.credential_schema)
    except Exception as exc:  # jsonschema may raise on a schema it cannot follow
        unchecked = Problem(
            "schema",
            f"cannot be checked: {exc!r}",
            "make it valid JSON Schema 2020-12",
            file=info.credential_schema,
        )
        return [unchecked, *problems]
    return [_schema_problem("schema", problem) for problem in found] + problems


def _schema_problem(check: str, problem: SchemaProblem) -> Problem:
    return Problem(
        check,
        problem.message,
        problem.fix,
        file=problem.file,
        line=problem.line or _line_of(problem.file, problem.path),
        path=problem.path,
    )


def _line_of(file: Path, path: str | None) -> int | None:
    """The line where ``file`` spells out the JSON path ``path``, or its deepest
    part that exists (the object a missing key belongs in): where an editor or a
    workflow annotation should point."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    steps = [
        key if index == "" else int(index)
        for key, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path or "")
    ]
    try:
        offset = _offset(text, steps)
    except (ValueError, IndexError):  # the file is not the JSON the path was found in
        return None
    return text.count("\n", 0, offset) + 1


def _offset(text: str, steps: list[str | int]) -> int:
    """Where the value at ``steps`` starts in the JSON ``text`` (at its key, for a
    member of an object); where its deepest existing part starts, if it is missing."""
    decoder = json.JSONDecoder()
    position = found = _skip(text, 0)
    for step in steps:
        opening = text[position]
        if (opening, isinstance(step, int)) not in (("{", False), ("[", True)):
            break
        position = _skip(text, position + 1)
        index = -1
        while text[position] not in "}]":
            start, index = position, index + 1
            name: str | int = index
            if opening == "{":
                name, position = decoder.raw_decode(text, position)
                position = _skip(text, _skip(text, position) + 1)  # past the colon
            if name == step:
                found = start
                break
            _, position = decoder.raw_decode(text, position)
            position = _skip(text, position)
            if text[position] == ",":
                position = _skip(text, position + 1)
        else:
            break  # no such member: the parent is as deep as the path goes
    return found


def _skip(text: str, position: int) -> int:
    """The first position from ``position`` on that is not white space."""
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _duplicates(target: _Target) -> list[Problem]:
    """Other installed distributions that offer the same provider id: a host would
    load only one of them."""
    mine = _canonical(target.distribution)
    others = sorted(
        {
            _distribution(entry_point) or "an unnamed distribution"
            for entry_point in _entry_points()
            if entry_point.name == target.name
            and _canonical(_distribution(entry_point)) != mine
        }
    )
    return [
        Problem(
            "duplicate",
            f"the provider id {target.name!r} is also offered by {other}; a host "
            "loads only one of them",
            "uninstall one of the two, or give this provider another id (entry "
            "point, ProviderInfo.id and distribution name together)",
            file=_pyproject(target),
        )
        for other in others
    ]


# Output


def render(reports: Sequence[Report], output_format: str) -> str:
    """The reports as ``text``, ``json`` or ``github`` (workflow annotations)."""
    if output_format == "json":
        return json.dumps(
            {
                "ok": all(report.ok for report in reports),
                "plugins": [_report_dict(report) for report in reports],
            },
            indent=2,
        )
    if output_format == "github":
        return "\n".join([*_annotations(reports), _summary(reports)])
    return "\n".join([*_text(reports), _summary(reports)])


def _report_dict(report: Report) -> dict[str, Any]:
    return {
        "name": report.name,
        "distribution": report.distribution,
        "origin": report.origin,
        "ok": report.ok,
        "problems": [problem.as_dict() for problem in report.problems],
    }


def _text(reports: Iterable[Report]) -> Iterator[str]:
    for report in reports:
        status = "ok  " if report.ok else "FAIL"
        source = report.distribution or "no distribution"
        if report.origin != "installed":
            source += f", {_shown(Path(report.origin))}"
        yield f"{status} {report.name} ({source})"
        for problem in report.problems:
            yield f"  {_location(problem)}{problem.message}"
            yield f"    fix: {problem.fix}"


def _location(problem: Problem) -> str:
    if problem.file is None:
        return ""
    where = _shown(problem.file)
    if problem.line:
        where += f":{problem.line}"
    if problem.path:
        where += f" at {problem.path}"
    return f"{where}: "


def _shown(file: Path) -> str:
    """A path relative to the working directory where it lies inside it."""
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def _annotations(reports: Iterable[Report]) -> Iterator[str]:
    # https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions
    for report in reports:
        for problem in report.problems:
            properties = []
            if problem.file is not None:
                properties.append(f"file={_escape(_shown(problem.file), True)}")
                if problem.line:
                    properties.append(f"line={problem.line}")
            title = f"fieldlink check: {report.name} ({problem.check})"
            properties.append(f"title={_escape(title, True)}")
            where = f"{problem.path}: " if problem.path else ""
            message = f"{where}{problem.message}. Fix: {problem.fix}"
            yield f"::error {','.join(properties)}::{_escape(message, False)}"


def _escape(text: str, is_property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if is_property:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _summary(reports: Sequence[Report]) -> str:
    if not reports:
        return "no provider plugin is installed: name a plugin's source tree"
    failed = sum(not report.ok for report in reports)
    problems = sum(len(report.problems) for report in reports)
    checked = f"{len(reports)} plugin{'s' if len(reports) != 1 else ''} checked"
    if not failed:
        return f"{checked}: all passed"
    return f"{checked}: {failed} failed with {problems} problem{'s' * (problems != 1)}"
