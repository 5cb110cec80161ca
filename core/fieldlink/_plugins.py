"""Plugin loading: the one place that finds, checks and registers plugins.

Provider plugins arrive through entry points in the ``fieldlink.providers`` group,
named by provider id. Each is checked as it loads; one that breaks the contract is
left out and reported with the reason, and every other plugin keeps working.
``FIELDLINK_PLUGINS`` (a comma-separated list of entry point names) limits which
plugins load. Set but blank, it names none and so loads none, as an allow-list
should, and :meth:`PluginRegistry.selection_problem` says so.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from collections.abc import Collection, Mapping
from typing import Any

import attrs
import pluggy

from . import hookspecs
from ._schemas import CredentialSchema, check_schema_file
from ._version import __version__
from .errors import UnknownEnvironmentError, UnknownProviderError
from .models import ProviderInfo

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "fieldlink.providers"
PLUGINS_ENV = "FIELDLINK_PLUGINS"


@attrs.frozen
class PluginFailure:
    """A plugin that was left out, and why."""

    name: str
    distribution: str | None
    reason: str


@attrs.frozen
class LoadedProvider:
    """A provider plugin that passed every check at load time."""

    info: ProviderInfo
    plugin: Any = attrs.field(repr=False)
    distribution: str | None

    @functools.cached_property
    def schema(self) -> CredentialSchema:
        return CredentialSchema(self.info.id, self.info.credential_schema)

    def environment(self, name: str | None) -> str:
        """The environment ``name`` names, checked; the provider's first for None."""
        environments = self.info.environments
        if name is None:
            return environments[0]
        if name not in environments:
            raise UnknownEnvironmentError(
                f"{self.info.id} has no environment {name!r}; "
                f"use one of {', '.join(environments)}",
                provider=self.info.id,
            )
        return name


@functools.cache
def _entry_points() -> tuple[importlib.metadata.EntryPoint, ...]:
    # Reading every installed distribution's metadata is slow: do it once per process.
    return tuple(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _selected() -> set[str] | None:
    raw = os.environ.get(PLUGINS_ENV)
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _version_tuple(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except (InvalidVersion, TypeError):  # TypeError: a number, not a string
        return None


def description_problem(info: Any, name: str) -> str | None:
    """Why ``info``, what the plugin under entry point ``name`` says of itself,
    cannot describe a provider; None when it can."""
    if not isinstance(info, ProviderInfo):
        return "describe_provider must return a fieldlink.ProviderInfo"
    if info.id != name:
        return f"describes provider {info.id!r} under the entry point name {name!r}"
    return None


def core_version_problem(min_core_version: Any) -> str | None:
    """Why a plugin that needs core ``min_core_version`` cannot run on this one."""
    needed, have = _version_tuple(min_core_version), _version_tuple(__version__)
    if needed is None:
        return f"min_core_version {min_core_version!r} is not a version"
    if have is not None and needed > have:
        installed = f"{__version__} is installed"
        return f"needs fieldlink core {min_core_version} or newer; {installed}"
    return None


class PluginRegistry:
    """The pluggy manager, the providers it loaded and the plugins it left out."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.providers: dict[str, LoadedProvider] = {}
        self.failures: list[PluginFailure] = []
        #: Installed plugins that FIELDLINK_PLUGINS leaves out.
        self.unselected: list[str] = []
        #: Names FIELDLINK_PLUGINS gives that no installed plugin has.
        self.not_installed: list[str] = []
        #: True when FIELDLINK_PLUGINS is set but names no plugin.
        self.none_selected = False
        self._callers: dict[tuple[str, str], Any] = {}

    # Loading

    def load_entry_points(self) -> None:
        entry_points = _entry_points()
        selected = _selected()
        if selected is not None:
            self.none_selected = not selected
            installed = {entry_point.name for entry_point in entry_points}
            self.not_installed = sorted(selected - installed)
            self.unselected = sorted(installed - selected)
            if self.not_installed:
                logger.debug(
                    "%s names plugins that are not installed: %s",
                    PLUGINS_ENV,
                    self.not_installed,
                )
        for entry_point in entry_points:
            if selected is not None and entry_point.name not in selected:
                continue
            distribution = entry_point.dist.name if entry_point.dist else None
            try:
                plugin = entry_point.load()
            except (
                Exception,
                SystemExit,
            ) as exc:  # a plugin's import may fail in any way
                self._fail(
                    entry_point.name, distribution, f"cannot be imported: {exc!r}"
                )
                continue
            self.add_provider(entry_point.name, plugin, distribution=distribution)

    def add_provider(
        self, name: str, plugin: Any, *, distribution: str | None = None
    ) -> None:
        """Register ``plugin`` as the provider named ``name``, or record why not."""
        if name in self.providers:
            other = self.providers[name].distribution
            self._fail(
                name, distribution, f"repeats the provider id {name!r} of {other}"
            )
            return
        reason = self.register_hooks(name, plugin)
        if reason:
            self._fail(name, distribution, reason)
            return

        reason = self._check_provider(name, plugin)
        if reason:
            self.manager.unregister(plugin)
            self._fail(name, distribution, reason)
            return
        info = self.describe_plugin(plugin)
        self.providers[name] = LoadedProvider(info, plugin, distribution)
        self._callers.clear()

    def register_hooks(self, name: str, plugin: Any) -> str | None:
        """Register ``plugin``'s hooks as provider ``name``; if they do not match the
        hook specifications, leave it unregistered and say why."""
        registered_as = self.manager.get_name(plugin)
        if registered_as is not None:
            return self._already_registered(name, registered_as)
        try:
            self.manager.register(plugin, name=f"provider:{name}")
        except pluggy.PluginValidationError as exc:
            # pluggy 1.5 keeps the hooks it added before the invalid one: drop them.
            self.manager.unregister(name=f"provider:{name}")
            return f"does not match the hook specifications: {exc}"
        except ValueError:  # pluggy's message shows the other plugin's repr
            return f"another plugin is already registered as provider:{name}"
        unknown = [
            caller.name
            for caller in self.manager.get_hookcallers(plugin) or ()
            if not caller.has_spec()
        ]
        if unknown:
            self.manager.unregister(plugin)
            unknown_hooks = ", ".join(unknown)
            return f"implements hooks the specifications do not know: {unknown_hooks}"
        return None

    def _already_registered(self, name: str, registered_as: str) -> str:
        """Why the plugin object offered as provider ``name`` cannot be registered
        again, when it already is, as ``registered_as``."""
        other = registered_as.removeprefix("provider:")
        if other == registered_as:
            return f"is the plugin object already registered as {registered_as!r}"
        loaded = self.providers.get(other)
        origin = (
            f" (from {loaded.distribution})" if loaded and loaded.distribution else ""
        )
        return (
            f"is the same plugin object as the provider {other!r} already loaded"
            f"{origin}: two distributions ship one plugin, or the entry point "
            f"{name!r} names a plugin that describes another provider"
        )

    def describe_plugin(self, plugin: Any) -> Any:
        """What a registered plugin's ``describe_provider`` answers, asked alone."""
        return self.manager.subset_hook_caller(
            "describe_provider", self._other_providers(plugin)
        )()

    def add_plugin(self, plugin: Any, name: str | None = None) -> None:
        """Register a plugin that is not a provider: an observer or a wrapper of all."""
        self.manager.register(plugin, name=name)
        self._callers.clear()

    def _check_provider(self, name: str, plugin: Any) -> str | None:
        try:
            info = self.describe_plugin(plugin)
        except Exception as exc:
            return f"describe_provider failed: {exc!r}"
        reason = description_problem(info, name)
        if reason:
            return reason
        for other in self.providers.values():
            if other.info.id == info.id:
                return f"repeats the provider id {info.id!r} of {other.distribution}"
        reason = core_version_problem(info.min_core_version)
        if reason:
            return reason

        try:
            problems = check_schema_file(info.credential_schema)
        except Exception as exc:  # jsonschema raises on some schemas: a $ref to nowhere
            problems = [f"{info.credential_schema}: cannot be checked: {exc}"]
        if problems:
            return "ships an unusable credential schema: " + "; ".join(problems)
        return None

    def selection_problem(self) -> str | None:
        """What is wrong with FIELDLINK_PLUGINS, if it names plugins not installed
        or none at all."""
        if not (self.none_selected or self.not_installed):
            return None
        installed = ", ".join(sorted(self._installed())) or "none"
        if self.none_selected:
            return (
                f"{PLUGINS_ENV} is set but names no plugin, so none is loaded; name "
                f"the plugins to load (installed: {installed}), or unset it to load "
                "every plugin"
            )
        named = ", ".join(repr(name) for name in self.not_installed)
        return (
            f"{PLUGINS_ENV} names {named}, which no installed plugin provides "
            f"(installed: {installed}); correct the names, or unset {PLUGINS_ENV} "
            "to load every plugin"
        )

    def unknown_providers_problem(
        self, named: Collection[str], where: str
    ) -> str | None:
        """What is wrong with settings that ``where`` gives for the providers
        ``named``, if some name no installed plugin."""
        unknown = sorted(set(named) - self._installed())
        if not unknown:
            return None
        installed = ", ".join(sorted(self._installed())) or "none"
        return (
            f"{where} has settings for {', '.join(map(repr, unknown))}, which no "
            f"installed plugin provides (installed: {installed}); correct the "
            "provider id, or remove them"
        )

    def _installed(self) -> set[str]:
        """Every installed plugin's name, loaded or not, and the providers added by
        hand."""
        return {entry_point.name for entry_point in _entry_points()} | set(
            self.providers
        )

    def _fail(self, name: str, distribution: str | None, reason: str) -> None:
        logger.debug("plugin %s left out: %s", name, reason)
        self.failures.append(PluginFailure(name, distribution, reason))

    # Calling

    def _other_providers(self, keep: Any) -> list[Any]:
        return [
            plugin
            for name, plugin in self.manager.list_name_plugin()
            if name and name.startswith("provider:") and plugin is not keep
        ]

    def provider(self, provider_id: str) -> LoadedProvider:
        try:
            return self.providers[provider_id]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            message = f"no provider {provider_id!r} is loaded" + (
                f"; use one of {known}" if known else ", nor any other"
            )
            if any(failure.name == provider_id for failure in self.failures):
                message += "; it failed to load, see `fieldlink providers`"
            if provider_id in self.unselected:
                message += f"; it is installed but left out by {PLUGINS_ENV}"
            problem = self.selection_problem()
            if problem:
                message += f"; {problem}"
            raise UnknownProviderError(message, provider=provider_id) from None

    def call(self, provider_id: str, hook: str, **kwargs: Any) -> Any:
        """Call ``hook`` on one provider's plugin (and on wrappers of every provider)."""
        key = (provider_id, hook)
        caller = self._callers.get(key)
        if caller is None:
            plugin = self.provider(provider_id).plugin
            caller = self.manager.subset_hook_caller(
                hook, self._other_providers(plugin)
            )
            self._callers[key] = caller
        return caller(**kwargs)

    def broadcast(self, hook: str, **kwargs: Any) -> None:
        """Tell every plugin; an observer that fails is logged, not propagated."""
        for impl in getattr(self.manager.hook, hook).get_hookimpls():
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception:
                logger.exception("observer %s of %s failed", impl.plugin_name, hook)

    def describe(self) -> Mapping[str, ProviderInfo]:
        return {name: loaded.info for name, loaded in sorted(self.providers.items())}
