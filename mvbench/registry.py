"""Plugin registries backed by Python entry points.

Methods live in the ``mvbench.methods`` group, datasets in ``mvbench.datasets``. Built-in plugins
are registered the same way as third-party ones. A plugin that fails to import does not break the
others: it is listed as broken with its import error, and using it raises that error in one line.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

METHODS_GROUP = "mvbench.methods"
DATASETS_GROUP = "mvbench.datasets"


class UnknownNameError(LookupError):
    """A name is not registered; the message lists the valid choices."""


class BrokenPluginError(ImportError):
    """A registered plugin could not be loaded; the message carries the import error."""


@dataclass
class PluginInfo:
    name: str
    target: str  # "module:attr" or "<python>" for objects registered in code
    distribution: str
    error: str | None = None

    @property
    def broken(self) -> bool:
        return self.error is not None


class Registry(Generic[T]):
    """Name -> plugin object for one entry-point group (loaded lazily, errors remembered)."""

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._infos: dict[str, PluginInfo] | None = None
        self._loaded: dict[str, T] = {}

    def _scan(self) -> dict[str, PluginInfo]:
        if self._infos is None:
            self._infos = {}
            self._eps = {}
            for ep in entry_points(group=self.group):
                dist = getattr(getattr(ep, "dist", None), "name", "") or ""
                self._infos[ep.name] = PluginInfo(ep.name, ep.value, dist)
                self._eps[ep.name] = ep
        return self._infos

    def register(self, name: str, obj: T) -> None:
        """Register ``obj`` in code (tests, notebooks); entry points are the normal way."""
        self._scan()[name] = PluginInfo(name, "<python>", "")
        self._loaded[name] = obj

    def names(self) -> list[str]:
        return sorted(self._scan())

    def info(self) -> list[PluginInfo]:
        """All plugins, after trying to load each one (so broken ones carry their error)."""
        for name in self.names():
            try:
                self.get(name)
            except BrokenPluginError:
                pass
        return [self._scan()[n] for n in self.names()]

    def get(self, name: str) -> T:
        infos = self._scan()
        if name in self._loaded:
            return self._loaded[name]
        if name not in infos:
            raise UnknownNameError(unknown_name_message(self.kind, name, list(infos)))
        info = infos[name]
        if info.error is None:
            try:
                obj = self._eps[name].load()
            except Exception as exc:  # any import-time failure of a plugin
                info.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            else:
                if hasattr(obj, "name") and not getattr(obj, "name", ""):
                    obj.name = name  # type: ignore[attr-defined]
                self._loaded[name] = obj
                return obj
        raise BrokenPluginError(
            f"{self.kind} {name!r} (from {info.distribution or info.target}) is broken: {info.error}"
        )


def unknown_name_message(kind: str, name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    valid = ", ".join(sorted(choices)) or "(none registered)"
    return f"unknown {kind} {name!r}{hint}; valid choices: {valid}"


_methods: Registry[Any] | None = None
_datasets: Registry[Any] | None = None


def methods() -> Registry[Any]:
    """The method registry (``mvbench.methods`` entry points)."""
    global _methods
    if _methods is None:
        _methods = Registry(METHODS_GROUP, "method")
    return _methods


def datasets() -> Registry[Any]:
    """The dataset registry (``mvbench.datasets`` entry points)."""
    global _datasets
    if _datasets is None:
        _datasets = Registry(DATASETS_GROUP, "dataset")
    return _datasets
