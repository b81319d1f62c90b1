"""The Method interface every clustering method plugin implements.

A method is a class with

- ``Config``: a dataclass of hyper-parameters (typed, with defaults) — listed by ``mvbench list``,
  validated from strings or YAML values, logged as MLflow params and swept by grids;
- ``capabilities``: what it can do (missing views natively, how many views, stochastic or not);
- ``fit_predict(data, n_clusters, seed)``: returns a :class:`FitResult`.

Adding a method takes one file with such a class and one entry-point line in the
``mvbench.methods`` group.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args, get_origin

import numpy as np

from mvbench.data.model import MultiViewDataset


class ConfigError(ValueError):
    """A hyper-parameter value or name is invalid (one-line message)."""


@dataclass(frozen=True)
class Capabilities:
    """What a method can do; the runner reads these before running a cell."""

    handles_missing: bool = False
    min_views: int = 1
    max_views: int | None = None
    stochastic: bool = True

    def check_views(self, n_views: int, method: str) -> None:
        if n_views < self.min_views or (self.max_views is not None and n_views > self.max_views):
            hi = "any number of" if self.max_views is None else f"at most {self.max_views}"
            raise ConfigError(
                f"{method} accepts at least {self.min_views} and {hi} views; the dataset has {n_views}"
            )


@dataclass
class FitResult:
    """What a method returns.

    ``history`` holds one dict of floats per epoch (loss terms, ...); ``label_history`` may hold the
    predicted labels per epoch so the runner can log ACC/NMI curves (labels are never given to the
    method). ``info`` holds scalar facts worth logging (iterations run, converged, ...).
    """

    labels: np.ndarray
    embedding: np.ndarray | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    label_history: list[np.ndarray] = field(default_factory=list)
    info: dict[str, float] = field(default_factory=dict)


@dataclass
class NoConfig:
    """A method without hyper-parameters."""


class Method(ABC):
    """Base class of clustering methods. Subclasses set ``Config`` and ``capabilities``."""

    name: ClassVar[str] = ""
    Config: ClassVar[type] = NoConfig
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: Hyper-parameters for a fast smoke run on tiny data (used by the contract tests).
    quick_params: ClassVar[dict[str, Any]] = {}
    #: Bump when results change for a reason the method's source does not show (a dependency, a
    #: data file); with the source hash it forms the code identity in every cell key
    #: (:mod:`mvbench.run.code_identity`).
    version: ClassVar[str] = ""
    #: A seed shared by all methods of one (dataset, condition, repetition), set by the runner before
    #: ``fit_predict`` (None outside it). Methods use it for work they share, e.g. cached pretraining.
    data_seed: int | None = None

    def __init__(self, config: Any | None = None, **params: Any) -> None:
        if config is None:
            config = build_config(self.Config, params)
        elif params:
            config = dataclasses.replace(config, **params)
        self.config = config

    @abstractmethod
    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        """Cluster ``data`` into ``n_clusters`` groups; every random choice derives from ``seed``."""

    def check_data(self, data: MultiViewDataset) -> None:
        """Raise (one line) when this configuration cannot run on ``data``: called by the planner
        before anything is logged, with lazy views (read names and shapes, not arrays) and labels.
        Methods whose settings name views override it to resolve them as ``fit_predict`` does."""
        self.capabilities.check_views(data.n_views, self.name or type(self).__name__)

    @classmethod
    def memory_estimate(cls, config: Any, n_samples: int, view_dims: list[int]) -> int | None:
        """Peak bytes this method needs on data of this shape, or None when not a concern."""
        return None


# -- configs ---------------------------------------------------------------------------------------
def config_fields(config_cls: type) -> list[dataclasses.Field]:
    return list(dataclasses.fields(config_cls))


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def build_config(config_cls: type, params: dict[str, Any], owner: str = "") -> Any:
    """Build ``config_cls`` from ``params`` (strings are parsed to the field's type).

    Unknown names and ill-typed values raise :class:`ConfigError` naming the valid choices.
    """
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    prefix = f"{owner}: " if owner else ""
    values = {}
    for key, raw in params.items():
        if key not in fields:
            valid = ", ".join(fields) or "(none)"
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{prefix}unknown hyper-parameter {key!r}{hint}; valid: {valid}")
        try:
            values[key] = coerce(raw, hints[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{prefix}bad value {raw!r} for {key}: {exc}") from None
    try:
        return config_cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def coerce(value: Any, hint: Any) -> Any:
    """Convert ``value`` (often a string from the CLI) to the type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or "no matching type")
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"expected one of {', '.join(map(str, args))}")
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.strip("[]()").split(",") if v.strip()]
        inner = args[0] if args else str
        items = [coerce(v.strip() if isinstance(v, str) else v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected an integer")
        return int(value)
    if hint is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    if hint is str:
        return str(value)
    return value


def describe_config(config_cls: type) -> list[tuple[str, str, str]]:
    """(name, type, default) rows for listing a method's hyper-parameters."""
    hints = typing.get_type_hints(config_cls)
    rows = []
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else "required"  # type: ignore[misc]
        )
        type_name = getattr(hints[f.name], "__name__", None) or str(hints[f.name]).replace("typing.", "")
        rows.append((f.name, type_name, repr(default)))
    return rows
