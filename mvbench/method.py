"""The Method interface every clustering method plugin implements.

A method is a class with

- ``Config``: a dataclass of hyper-parameters (typed, with defaults and declared ranges; see
  :mod:`mvbench.config`) — listed by ``mvbench list``, validated from strings or YAML values, logged
  as MLflow params and swept by grids;
- ``capabilities``: what it can do (missing views natively, how many views);
- ``fit_predict(data, n_clusters, seed)``: returns a :class:`FitResult`.

The harness hands a method the run it is part of as a :class:`RunContext` (its ``context``): the seed
shared by the methods of one dataset/condition/repetition, the cache folder, and progress display.

Adding a method takes one file with such a class and one entry-point line in the
``mvbench.methods`` group.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mvbench.config import ConfigError, NoConfig, build_config, check_config

if TYPE_CHECKING:
    import numpy as np

    from mvbench.data.model import MultiViewDataset

T = TypeVar("T")
#: ``progress(iterable, total, description)``: iterate, showing progress when the harness can.
Progress = Callable[[Iterable[Any], "int | None", str], Iterator[Any]]


def no_progress(iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
    yield from iterable


@dataclass(frozen=True)
class RunContext:
    """What the harness tells a method about the run it is part of (the defaults: a method used alone).

    - ``data_seed``: a seed shared by every method of one (dataset, condition, repetition); methods
      use it for work they share, e.g. cached pretraining. None outside a grid.
    - ``cache_dir``: a folder where methods may cache such shared work; None: do not cache. A method
      that writes there has a ``cache`` setting (true by default): the planner then refuses an
      unwritable cache dir before the grid starts.
    - ``progress``: wraps long loops, see :meth:`track`.
    """

    data_seed: int | None = None
    cache_dir: Path | None = None
    progress: Progress = no_progress

    def shared_seed(self, seed: int) -> int:
        """The seed for work shared across methods: ``data_seed`` in a grid, else ``seed``."""
        return seed if self.data_seed is None else self.data_seed

    def track(self, iterable: Iterable[T], total: int | None = None, description: str = "training") -> Iterator[T]:
        """Iterate over ``iterable``, with a progress bar when the harness shows one."""
        return self.progress(iterable, total, description)


@dataclass(frozen=True)
class Capabilities:
    """What a method can do; the runner reads these before running a cell."""

    handles_missing: bool = False
    min_views: int = 1
    max_views: int | None = None

    def check_views(self, n_views: int, method: str) -> None:
        if n_views < self.min_views or (self.max_views is not None and n_views > self.max_views):
            hi = "any number of" if self.max_views is None else f"at most {self.max_views}"
            raise ConfigError(f"{method} accepts at least {self.min_views} and {hi} views; the dataset has {n_views}")


@dataclass
class FitResult:
    """What a method returns.

    ``history`` holds one dict of floats per epoch (loss terms, ...); ``label_history`` may hold the
    predicted labels per epoch so the runner can log ACC/NMI curves (labels are never given to the
    method). ``info`` holds scalar facts worth logging (iterations run, converged, ...).
    """

    labels: np.ndarray
    history: list[dict[str, float]] = field(default_factory=list)
    label_history: list[np.ndarray] = field(default_factory=list)
    info: dict[str, float] = field(default_factory=dict)


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

    def __init__(self, config: Any | None = None, *, context: RunContext | None = None, **params: Any) -> None:
        owner = self.name or type(self).__name__
        if config is None:
            config = build_config(self.Config, params, owner=owner)
        else:
            if params:
                config = dataclasses.replace(config, **params)
            check_config(config, owner=owner)
        self.config = config
        self.context = context or RunContext()

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
