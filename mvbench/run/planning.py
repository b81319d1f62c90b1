"""Planning a grid: validate everything up front, prepare the datasets, expand the cells.

Everything that can be wrong with the input (names, hyper-parameters, conditions, datasets) is
checked here, before the runner creates anything in the tracking store, so bad input logs nothing.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from mvbench import registry
from mvbench.config import ConfigError, build_config
from mvbench.data import sources, store
from mvbench.data.conditions import ConditionError
from mvbench.data.degenerate import check_clusterable, constant_views
from mvbench.data.model import DataValidationError
from mvbench.data.sources import DataPaths
from mvbench.method import Method
from mvbench.places import check_folder
from mvbench.run.cell import CellTask
from mvbench.run.code_identity import code_identity
from mvbench.run.grid import (
    VIEWS_SETTING,
    Cell,
    GridError,
    GridSpec,
    expand_params,
    freeze,
    label,
    resolve_method,
    split_views,
    swept_keys,
)

#: A method setting that, when true, means the method caches shared work under the cache dir
#: (``RunContext.cache_dir``), which must then be writable.
CACHE_SETTING = "cache"


@dataclass
class PlannedGrid:
    """A validated grid: its cells and what each needs to run."""

    spec: GridSpec
    cells: list[Cell]
    tasks: dict[str, CellTask]
    warnings: list[str] = field(default_factory=list)


def total_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def plan(
    spec: GridSpec, paths: DataPaths | None = None, memory_limit: int | None = None, allow_variant: bool = False
) -> PlannedGrid:
    """Resolve every name and parameter, prepare datasets, expand the cells (no logging).

    ``paths``: where datasets and caches live (default: :meth:`DataPaths.resolve`); ``memory_limit``:
    bytes a cell may need by its method's estimate (default: this machine's RAM); ``allow_variant``:
    accept a dataset file whose sha256 differs from the pinned one (its cells say so)."""
    paths = paths or DataPaths.resolve()
    if spec.imputation not in ("mean", "zero"):
        raise GridError(f"unknown imputation {spec.imputation!r}: use mean or zero")
    if spec.repetitions < 1:
        raise GridError(f"--seeds (repetitions) must be at least 1, got {spec.repetitions}")
    if spec.model_seeds < 1:
        raise GridError(f"model_seeds must be at least 1, got {spec.model_seeds}")
    conditions = spec.conditions()
    methods = []
    for entry in spec.methods:
        method_cls = registry.methods().get(entry.name)
        swept = swept_keys(method_cls.Config, entry.params)
        for params in expand_params(method_cls.Config, entry.params):
            resolved = tuple((k, freeze(v)) for k, v in resolve_method(entry.name, params, method_cls))
            methods.append((entry.name, entry.variant_label(params, swept), resolved, method_cls, entry.group))
    caching = [label for _, label, params, _, _ in methods if dict(params).get(CACHE_SETTING) is True]
    if caching:
        check_folder(
            paths.cache_dir,
            "the cache dir",
            f"{caching[0]} caches shared work there: set MVBENCH_CACHE_DIR to a writable folder "
            f"(or --param {caching[0].split('(')[0]}.{CACHE_SETTING}=false)",
        )
    datasets = []
    warnings = []
    for entry in spec.datasets:
        source = sources.get_source(entry.name, paths)
        builder_params, view_subsets = split_views(entry.params)
        for params, views in itertools.product(expand_params(source.Config, builder_params), view_subsets):
            path = sources.prepare(entry.name, paths, params, allow_variant=allow_variant)
            data = store.load(path)
            variant = sources.check_variant(entry.name, data.card, allow_variant)
            if views is not None:
                data = data.select_views(resolve_views(data, views, entry.name))
                params = {**params, VIEWS_SETTING: ",".join(data.view_names)}
            ds_label = label(entry.name, params) + (f"[variant {variant[:12]}]" if variant else "")
            check_degenerate(data, None, data.mask, ds_label, "")
            warnings += [
                f"dataset {ds_label!r}: view {name!r} has zero variance (all observed rows identical); methods "
                f"that cluster it alone refuse it, the others get no information from it"
                for name in constant_views(data)
            ]
            for condition in conditions:
                if condition.missing_view is not None and condition.missing_view not in data.view_names:
                    raise GridError(
                        f"dataset {entry.name!r} has no view {condition.missing_view!r} for "
                        f"--missing-view: choose one of {', '.join(data.view_names)}"
                    )
                for rep in spec.repetition_indices():
                    try:
                        index, mask = condition.select(data, rep)
                    except ConditionError as exc:
                        raise GridError(f"dataset {ds_label!r}, condition {condition.label()}: {exc}") from None
                    check_degenerate(data, index, mask, ds_label, f", condition {condition.label()}")
            for method_name, method_label, method_params, method_cls, _ in methods:
                check_method(method_cls, method_name, method_label, method_params, data, ds_label)
            ds_params = tuple((k, freeze(v)) for k, v in params.items())
            datasets.append((entry.name, ds_label, ds_params, data.card.sha256, path, variant))
    limit = memory_limit if memory_limit is not None else total_memory_bytes()
    cells, tasks = [], {}
    for ds_name, ds_label, ds_params, sha, path, variant in datasets:
        for condition in conditions:
            for method_name, method_label, method_params, method_cls, group in methods:
                for rep, model_seed in itertools.product(spec.repetition_indices(), range(spec.model_seeds)):
                    cell = Cell(
                        method_name,
                        method_label,
                        method_params,
                        ds_name,
                        ds_label,
                        ds_params,
                        sha,
                        condition,
                        rep,
                        spec.imputation,
                        code_identity(method_cls),
                        group,
                        model_seed,
                        variant,
                    )
                    if cell.key not in tasks:
                        cells.append(cell)
                        tasks[cell.key] = CellTask(cell, path, method_cls, limit, paths.cache_dir)
    return PlannedGrid(spec, cells, tasks, warnings)


def check_degenerate(data: Any, index: Any, mask: Any, ds_label: str, where: str) -> None:
    """Refuse (GridError) a dataset, or its samples under a condition (``index``, ``mask``), on which no
    clustering score means anything (:func:`~mvbench.data.degenerate.check_clusterable`)."""
    labels = data.labels if index is None or data.labels is None else data.labels[index]
    try:
        check_clusterable(mask, labels, data.view_names)
    except DataValidationError as exc:
        raise GridError(f"dataset {ds_label!r}{where}: {exc}") from None


def resolve_views(data: Any, views: list[Any], dataset: str) -> list[int]:
    """Indices of a dataset's view subset (names or indices), refused in one line when unusable."""
    try:
        indices = data.view_indices(",".join(str(v) for v in views))
    except DataValidationError as exc:
        raise GridError(f"dataset {dataset!r}, {VIEWS_SETTING}={views}: {exc}") from None
    empty = int((~data.mask[:, indices].any(axis=1)).sum())
    if empty:
        raise GridError(
            f"dataset {dataset!r}, {VIEWS_SETTING}={views}: {empty} samples observe none of these views; "
            f"add a view they have"
        )
    return indices


def check_method(
    method_cls: type[Method], name: str, method_label: str, params: tuple, data: Any, ds_label: str
) -> None:
    """Refuse up front (GridError) a method variant that cannot run on a dataset (views it names,
    how many views it needs), instead of a failed cell at run time."""
    method = method_cls(build_config(method_cls.Config, dict(params), owner=name))
    try:
        method.check_data(data)
    except (ConfigError, DataValidationError, ValueError) as exc:
        raise GridError(f"{method_label} cannot run on dataset {ds_label!r}: {' '.join(str(exc).split())}") from None
