"""The cell worker: load the dataset, apply the condition, fit the method, score it.

This is what a worker process executes; it never touches the tracking store (one writer logs).
Any exception inside the cell becomes a FAILED result carrying its traceback.
"""

from __future__ import annotations

import os
import resource
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvbench.config import build_config
from mvbench.data import store
from mvbench.data.imputation import impute
from mvbench.data.model import MultiViewDataset
from mvbench.method import Method, Progress, RunContext, no_progress
from mvbench.metrics import evaluate
from mvbench.record.schema import CURVE_PREFIX, DONE, FAILED, SKIPPED, CellResult, label_history_start
from mvbench.run.grid import Cell
from mvbench.run.scoring import common_space, internal_indices, mask_sha256, oracle_scores


@dataclass
class CellTask:
    """Everything a worker needs: the cell, the prepared dataset file, the method class, the memory
    a cell may use, and the folder where methods may cache work shared across cells."""

    cell: Cell
    dataset_path: Path
    method_cls: type[Method]
    memory_limit_bytes: int | None = None
    cache_dir: Path | None = None


_DATASETS: dict[Path, MultiViewDataset] = {}
#: The common space (sample rows, coordinates) of the latest (dataset, views, condition, repetition).
_SPACE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def cached_dataset(path: Path) -> MultiViewDataset:
    """Datasets are read once per process and shared by its cells."""
    if path not in _DATASETS:
        _DATASETS[path] = store.load(path)
    return _DATASETS[path]


class PeakMemory:
    """Peak resident memory (MB) of this process while the block runs.

    Combines a 10 ms RSS sampler with the kernel's exact high-water mark, which counts only when
    the block raised it.
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()

    @staticmethod
    def rss_bytes() -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, self.rss_bytes())

    def __enter__(self) -> PeakMemory:
        self._maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.start_bytes = self.peak_bytes = self.rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self.rss_bytes())
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if maxrss_after > self._maxrss_before:
            self.peak_bytes = max(self.peak_bytes, maxrss_after)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20

    @property
    def increase_mb(self) -> float:
        """Peak minus the resident memory when the block started (what the block itself added)."""
        return max(0, self.peak_bytes - self.start_bytes) / 2**20


def run_cell(task: CellTask, progress: Progress = no_progress, data: MultiViewDataset | None = None) -> CellResult:
    """Execute one cell; never raises for errors inside the cell. ``progress`` is handed to the
    method (through its run context) to show its training loops; ``data`` is the cell's dataset
    (default: its file, read once per process; the Ray executor passes it from the object store)."""
    cell = task.cell
    try:
        data = cached_dataset(task.dataset_path) if data is None else data
        if cell.views is not None:
            data = data.select_views([data.view_index(v) for v in cell.views])
        data = cell.condition.apply(data, cell.repetition)
        method_cls = task.method_cls
        config = build_config(method_cls.Config, dict(cell.method_params), owner=cell.method)
        context = RunContext(data_seed=cell.data_seed, cache_dir=task.cache_dir, progress=progress)
        method: Method = method_cls(config, context=context)
        method.check_data(data)
        estimate = method_cls.memory_estimate(config, data.n_samples, list(data.view_dims))
        if estimate is not None and task.memory_limit_bytes is not None and estimate > task.memory_limit_bytes:
            return CellResult(
                cell,
                SKIPPED,
                error=(
                    f"{cell.method} needs about {estimate / 2**30:.1f} GiB on n={data.n_samples}, more than the "
                    f"{task.memory_limit_bytes / 2**30:.1f} GiB limit: subsample the data or raise --memory-limit"
                ),
            )
        imputed = not data.is_complete and not method_cls.capabilities.handles_missing
        # The method gets read-only views and no labels (reading them raises LabelsHiddenError).
        fit_data = (impute(data, cell.imputation) if imputed else data).without_labels()
        y_true, n_clusters = data.labels, data.n_clusters
        if y_true is None or n_clusters is None:
            raise ValueError(f"dataset {cell.dataset!r} has no labels, so the number of clusters is unknown")
        with PeakMemory() as memory:
            start = time.perf_counter()
            result = method.fit_predict(fit_data, n_clusters, cell.seed)
            fit_seconds = time.perf_counter() - start
        labels = np.asarray(result.labels)
        if labels.shape != (data.n_samples,):
            raise ValueError(f"{cell.method} returned labels of shape {labels.shape}, expected ({data.n_samples},)")
        if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
            bad = int((~np.isfinite(labels)).sum())
            raise ValueError(
                f"{cell.method} returned {bad} NaN or infinite labels in FitResult.labels (of {len(labels)}): "
                f"a method must assign every sample a cluster"
            )
        # Scored after the fit: the method has returned and never saw y_true.
        metrics = {**evaluate(y_true, labels), **partition_shape(labels, y_true)}
        metrics.update(fit_seconds=fit_seconds, peak_memory_mb=memory.peak_mb, memory_increase_mb=memory.increase_mb)
        if estimate is not None:
            metrics["memory_estimate_mb"] = estimate / 2**20
        metrics.update(oracle_scores(result.label_history, y_true))
        rows, space = cell_space(cell, data)
        metrics.update(internal_indices(space, labels[rows], cell.data_seed))
        return CellResult(
            cell,
            DONE,
            metrics,
            training_curves(result, y_true),
            dict(result.info),
            labels,
            data.ids,
            imputed=imputed,
            mask_sha256=mask_sha256(data.mask),
            mask=None if data.is_complete else np.array(data.mask),
            view_names=list(data.view_names),
        )
    except Exception as exc:  # a failure inside one cell never stops the grid
        message = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return CellResult(cell, FAILED, error=message, traceback=traceback.format_exc())


def cell_space(cell: Cell, data: MultiViewDataset) -> tuple[np.ndarray, np.ndarray]:
    """The label-free common space of the cell's data (:func:`mvbench.run.scoring.common_space`),
    computed once per (dataset, views, condition, repetition) in a process."""
    key = (cell.dataset_sha256, cell.dataset_label, cell.condition.key(), cell.repetition)
    if key not in _SPACE:
        _SPACE.clear()
        _SPACE[key] = common_space(data, seed=cell.data_seed)
    return _SPACE[key]


def partition_shape(labels: np.ndarray, y_true: np.ndarray) -> dict[str, float]:
    """How the samples spread over clusters, to flag degenerate partitions: clusters used (non-empty),
    the largest cluster's share of the samples, and the largest class's share for comparison."""
    sizes = np.unique(labels, return_counts=True)[1]
    classes = np.unique(y_true, return_counts=True)[1]
    return {
        "clusters_used": float(len(sizes)),
        "largest_cluster_share": float(sizes.max() / len(labels)),
        "n_clusters": float(len(classes)),
        "largest_class_share": float(classes.max() / len(y_true)),
    }


def training_curves(result: Any, y_true: np.ndarray | None) -> dict[str, list[tuple[int, float]]]:
    """Per-epoch curves as (epoch, value): the method's history terms at the epochs that report them,
    plus ACC/NMI of its per-epoch labels. ``label_history`` may cover the last epochs only: it starts
    at ``info["label_history_first_epoch"]`` when the method says so, else it ends with the history."""
    curves: dict[str, list[tuple[int, float]]] = {}
    for epoch, terms in enumerate(result.history):
        for key, value in terms.items():
            curves.setdefault(f"{CURVE_PREFIX}{key}", []).append((epoch, float(value)))
    if y_true is not None and result.label_history:
        start = label_history_start(
            result.info.get("label_history_first_epoch"), len(result.history), len(result.label_history)
        )
        for epoch, labels in enumerate(result.label_history, start):
            scores = evaluate(y_true, labels)
            curves.setdefault(f"{CURVE_PREFIX}acc", []).append((epoch, scores["acc"]))
            curves.setdefault(f"{CURVE_PREFIX}nmi", []).append((epoch, scores["nmi"]))
    return curves
