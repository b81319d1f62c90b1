"""Plugin registries backed by Python entry points.

Methods live in the ``mvbench.methods`` group, datasets in ``mvbench.datasets``. Built-in plugins
are registered the same way as third-party ones. A plugin that fails to import, is not a subclass of
its group's base class, or shares its name with another package's plugin is listed as broken with
the reason, and using it raises that reason in one line; the other plugins keep working.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any

METHODS_GROUP = "mvbench.methods"
DATASETS_GROUP = "mvbench.datasets"


class UnknownNameError(LookupError):
    """A name is not registered; the message lists the valid choices."""


class BrokenPluginError(ImportError):
    """A registered plugin cannot be used; the message says why."""


@dataclass(frozen=True)
class PluginInfo:
    name: str
    target: str  # "module:attr" or "<python>" for objects registered in code
    distribution: str
    error: str | None = None

    @property
    def broken(self) -> bool:
        return self.error is not None


class Registry:
    """Name -> plugin class for one entry-point group, loaded lazily; load errors are remembered.

    ``base`` ("module:Class") is the class every plugin of the group must subclass.
    """

    def __init__(self, group: str, kind: str, base: str | None = None) -> None:
        self.group = group
        self.kind = kind
        self.base = base
        self._entries: dict[str, tuple[PluginInfo, EntryPoint | None]] | None = None
        self._loaded: dict[str, Any] = {}
        self._errors: dict[str, str] = {}

    def _scan(self) -> dict[str, tuple[PluginInfo, EntryPoint | None]]:
        if self._entries is None:
            self._entries = {}
            for ep in entry_points(group=self.group):
                dist = getattr(getattr(ep, "dist", None), "name", "") or ""
                info = PluginInfo(ep.name, ep.value, dist)
                known = self._entries.get(ep.name)
                if known is not None and known[0].target != ep.value:  # the same plugin seen twice is one
                    self._errors[ep.name] = (
                        f"the name is registered twice, by {known[0].distribution or '?'} "
                        f"({known[0].target}) and by {dist or '?'} ({ep.value}): uninstall one"
                    )
                self._entries.setdefault(ep.name, (info, ep))
        return self._entries

    def register(self, name: str, obj: Any, replace_existing: bool = False) -> None:
        """Register ``obj`` in code (tests, notebooks); entry points are the normal way. A name in use
        raises, unless it is the same object or ``replace_existing`` is set."""
        entries = self._scan()
        if name in entries and not replace_existing and self._loaded.get(name) is not obj:
            raise ValueError(
                f"{self.kind} {name!r} is already registered ({entries[name][0].target}): choose another name"
            )
        self._check_base(name, obj)
        entries[name] = (PluginInfo(name, "<python>", ""), None)
        self._errors.pop(name, None)
        self._loaded[name] = obj

    def names(self) -> list[str]:
        return sorted(self._scan())

    def info(self) -> list[PluginInfo]:
        """All plugins, after trying to load each one (broken ones carry their error)."""
        out = []
        for name in self.names():
            try:
                self.get(name)
            except BrokenPluginError:
                pass
            out.append(replace(self._scan()[name][0], error=self._errors.get(name)))
        return out

    def get(self, name: str) -> Any:
        """The plugin class ``name`` (raises UnknownNameError or BrokenPluginError)."""
        entries = self._scan()
        if name not in entries:
            raise UnknownNameError(unknown_name_message(self.kind, name, list(entries)))
        if name in self._loaded:
            return self._loaded[name]
        info, ep = entries[name]
        if name not in self._errors and ep is not None:
            try:
                obj = ep.load()
                self._check_base(name, obj)
            except Exception as exc:  # any import-time failure of a plugin
                self._errors[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            else:
                self._loaded[name] = obj
                return obj
        raise BrokenPluginError(
            f"{self.kind} {name!r} (from {info.distribution or info.target}) is broken: {self._errors[name]}"
        )

    def _check_base(self, name: str, obj: Any) -> None:
        if self.base is None:
            return
        module, _, attr = self.base.partition(":")
        base = getattr(import_module(module), attr)
        if not (isinstance(obj, type) and issubclass(obj, base)):
            raise TypeError(f"{obj!r} is not a subclass of {base.__module__}.{base.__name__}")


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    valid = ", ".join(sorted(choices)) or "(none registered)"
    return f"unknown {kind} {name!r}{hint}; valid choices: {valid}"


_methods: Registry | None = None
_datasets: Registry | None = None


def methods() -> Registry:
    """The method registry (``mvbench.methods`` entry points; :class:`mvbench.method.Method` subclasses)."""
    global _methods
    if _methods is None:
        _methods = Registry(METHODS_GROUP, "method", "mvbench.method:Method")
    return _methods


def datasets() -> Registry:
    """The dataset registry (``mvbench.datasets`` entry points; :class:`~mvbench.data.sources.DatasetSource`
    subclasses)."""
    global _datasets
    if _datasets is None:
        _datasets = Registry(DATASETS_GROUP, "dataset", "mvbench.data.sources:DatasetSource")
    return _datasets
