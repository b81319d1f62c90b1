"""Cells as Ray tasks, on a local Ray instance or on a cluster (``mvbench run --executor ray``).

Each dataset file is read once in the driver, materialised and put in Ray's object store, so worker
nodes need neither the data dir nor a shared file system; a cell's task receives the dataset object
and returns its :class:`~mvbench.run.cell.CellResult` to the driver, which alone logs it (as with the
other executors). Tasks are submitted lazily, at most ``capacity`` in flight (cluster CPUs / CPUs per
cell), so the caller can decide about each cell just before it is submitted.

Reliability: a task whose worker or node dies is re-executed by Ray (``max_retries``); the driver
logs a cell only when its result arrives, so a retried cell is logged once. A task that still fails
becomes a FAILED cell through ``on_crash``. Ctrl-C (or the consumer stopping) cancels every task in
flight; the finished cells stay logged and the same command completes the rest. A cell over the time
limit (``timeout``, counted from its submission: at most ``capacity`` are in flight, so a submitted
cell starts at once) is cancelled (its worker is killed) and handed to ``on_crash`` as a
:class:`~mvbench.run.executors.CellTimeout`.

Ray is an optional dependency: ``pip install 'mvbench[ray]'``.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from mvbench.accelerator import wants_gpu
from mvbench.config import build_config
from mvbench.data import store
from mvbench.record.schema import CellResult
from mvbench.run.cell import CellTask
from mvbench.run.executors import CellTimeout, limit_threads
from mvbench.run.grid import GridError
from mvbench.run.ray_reaper import MARKER, start_reaper

T = TypeVar("T")
R = TypeVar("R")


def cell_resources(task: CellTask, cpus_per_cell: float, cluster_gpus: float) -> dict[str, float]:
    """Ray resources of one cell: its CPU threads, and one GPU when its method runs on CUDA and the
    cluster has GPUs (a ``cuda`` cell on a GPU-less cluster runs and fails with the method's error
    instead of waiting forever for a GPU)."""
    config = build_config(task.method_cls.Config, dict(task.cell.method_params), owner=task.cell.method)
    gpu = cluster_gpus > 0 and wants_gpu(config, cuda_present=True)
    return {"num_cpus": cpus_per_cell, "num_gpus": 1 if gpu else 0}


def _run_on_worker(fn: Callable[..., CellResult], task: CellTask, data: Any, n_threads: int) -> CellResult:
    """The body of a cell's Ray task: cap threads to the task's CPUs, then run the cell."""
    limit_threads(n_threads)
    return fn(task, data=data)


def private_instance() -> str:
    """Prepare a private local Ray instance to end with this process: a temporary folder of its own
    (removed at the end) and a reaper that ends its processes when this process ends, even by
    ``kill -9`` (:mod:`mvbench.run.ray_reaper`). Returns the folder, for ``ray.init(_temp_dir=...)``."""
    temp_dir = Path(tempfile.mkdtemp(prefix="mvbench-ray-"))
    instance = uuid.uuid4().hex
    _REAPERS.append(start_reaper(instance, temp_dir))  # kept referenced: its pipe closes when we exit
    os.environ[MARKER] = instance  # inherited by every process of the instance
    return str(temp_dir)


_REAPERS: list[Any] = []


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class RayExecutor:
    """Cells as Ray tasks. ``address``: a running cluster (``HOST:PORT`` or ``ray://HOST:PORT``);
    ``None`` starts a private local instance (``num_cpus`` of them, default: all cores)."""

    in_process = False

    def __init__(
        self,
        address: str | None = None,
        on_crash: Callable[[Any, BaseException], Any] | None = None,
        cpus_per_cell: int = 1,
        max_retries: int = 3,
        num_cpus: int | None = None,
        timeout: float | None = None,
    ) -> None:
        try:
            import ray
        except ImportError:
            raise GridError("the Ray executor needs Ray: pip install 'mvbench[ray]'") from None
        self.ray = ray
        self.on_crash = on_crash
        self.cpus_per_cell = cpus_per_cell
        self.max_retries = max_retries
        self.timeout = timeout
        if not ray.is_initialized():
            local = address is None
            temp_dir = private_instance() if local else None
            try:
                ray.init(
                    address="local" if local else address,
                    num_cpus=num_cpus if local else None,
                    include_dashboard=False if local else None,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    _temp_dir=temp_dir,
                )
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise GridError(
                    f"cannot join the Ray cluster at {address!r}: {first} (with token authentication, "
                    f"set RAY_AUTH_MODE=token and the cluster's token)"
                ) from None
            if threading.current_thread() is threading.main_thread():
                # ray.init makes SIGTERM a SystemExit, which would end the grid as if finished:
                # make it Ctrl-C instead (cells in flight cancelled, the grid ended as KILLED).
                signal.signal(signal.SIGTERM, _interrupt)
        self._remote = ray.remote(_run_on_worker)

    @property
    def capacity(self) -> int:
        """Cells that can run at once: the cluster's CPUs / CPUs per cell (at least 1)."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 0) // self.cpus_per_cell))

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(task, data=dataset)`` for every task, in completion order, pulling ``tasks`` lazily.
        The tasks are :class:`CellTask` s and ``fn`` takes the dataset as ``data`` (as ``run_cell`` does)."""
        ray = self.ray
        capacity = self.capacity
        gpus = ray.cluster_resources().get("GPU", 0)
        datasets: dict[Path, Any] = {}  # dataset file -> its object ref: each put once per grid
        in_flight: dict[Any, CellTask] = {}
        submitted: dict[Any, float] = {}  # ref -> when it was submitted (for the time limit)
        pending = (cast(CellTask, task) for task in tasks)
        cell_fn = cast(Callable[..., CellResult], fn)
        exhausted = False
        try:
            while True:
                while not exhausted and len(in_flight) < capacity:
                    task = next(pending, None)
                    if task is None:
                        exhausted = True
                        break
                    if task.dataset_path not in datasets:
                        datasets[task.dataset_path] = ray.put(store.load(task.dataset_path, lazy=False))
                    resources = cell_resources(task, self.cpus_per_cell, gpus)
                    ref = self._remote.options(
                        **resources, max_retries=self.max_retries, retry_exceptions=False, name=task.cell.run_name[:100]
                    ).remote(cell_fn, task, datasets[task.dataset_path], max(1, int(resources["num_cpus"])))
                    in_flight[ref], submitted[ref] = task, time.monotonic()
                if not in_flight:
                    return
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=self._next_check(submitted))
                if self.timeout is not None:
                    now = time.monotonic()
                    for ref in [r for r in in_flight if r not in ready and now - submitted[r] >= self.timeout]:
                        ray.cancel(ref, force=True)  # kills the worker running it
                        submitted.pop(ref)
                        yield self._failed(in_flight.pop(ref), CellTimeout(self.timeout))
                for ref in ready:
                    task = in_flight.pop(ref)
                    submitted.pop(ref, None)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # retries spent: the cell fails, the grid goes on
                        result = self._failed(task, exc)
                    yield result
        except BaseException:  # Ctrl-C or the consumer stopped: cancel what is still outstanding
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise

    def _next_check(self, submitted: dict[Any, float]) -> float | None:
        """Seconds until the earliest cell in flight reaches the time limit (None: no limit)."""
        if self.timeout is None:
            return None
        now = time.monotonic()
        return max(0.05, min(start + self.timeout - now for start in submitted.values()))

    def _failed(self, task: CellTask, exc: BaseException) -> Any:
        if self.on_crash is None:
            raise exc
        return self.on_crash(task, exc)


__all__ = ["RayExecutor", "cell_resources"]
