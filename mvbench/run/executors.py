"""Executors: how cells are computed. Results always come back to the caller, which alone logs them.

``SerialExecutor`` runs cells in this process; ``ProcessExecutor`` runs them in N worker processes
(spawned, each limited to its share of the CPU threads). A distributed engine slots in as another
class with the same ``map_unordered`` method: ``RayExecutor`` (mvbench.run.ray_executor) runs cells as
Ray tasks. Executors pull tasks lazily, keeping a bounded number in flight.

A cell time limit (``--cell-timeout``) needs a process to stop: ``ProcessExecutor`` kills the worker
of a cell over it (a new pool replaces the broken one) and hands ``on_crash`` a :class:`CellTimeout`;
with a limit, even one worker means a worker process.
"""

from __future__ import annotations

import concurrent.futures as futures
import importlib
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")


class CellTimeout(Exception):
    """A cell ran longer than the time limit and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timeout after {seconds:g} s")
        self.seconds = seconds


class Executor(Protocol):
    #: Whether cells run in this process (then they may show progress under the grid's bar).
    in_process: bool

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(task)`` for every task, in completion order.

        Contract: ``tasks`` is consumed lazily, a task drawn only when it can start at once (at most
        the executor's capacity in flight): the runner claims each cell while drawing it."""
        ...


class SerialExecutor:
    in_process = True

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        for task in tasks:
            yield fn(task)


def limit_threads(n_threads: int) -> None:
    """Cap BLAS/OpenMP and torch threads in this process."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n_threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n_threads)
    if "torch" in sys.modules:  # otherwise torch reads OMP_NUM_THREADS when a method imports it
        sys.modules["torch"].set_num_threads(n_threads)


def die_with_parent(parent_pid: int) -> None:
    """End this process when ``parent_pid`` dies, even by SIGKILL (no orphaned workers)."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:  # elsewhere: poll for the parent

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the watch was set up
        os._exit(1)


_started: Any = None  # in a worker: where it says which task it starts (for the time limit)
#: What every cell imports (scoring): loaded when a worker starts, so that a time limit counts the
#: cell's own work, not the first cell's imports (seconds on a busy machine).
CELL_MODULES = ("mvbench.run.cell", "scipy.optimize", "sklearn.metrics")


def init_worker(n_threads: int, parent_pid: int, started: Any = None, preload: tuple[str, ...] = ()) -> None:
    """Worker initialiser: die with the parent, leave Ctrl-C to it, cap threads and import ``preload``;
    ``started``: a queue on which the worker announces each task it starts (its pid and start time)."""
    global _started
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    limit_threads(n_threads)
    for module in preload:
        importlib.import_module(module)
    _started = started


def _announced(fn: Callable[[T], R], task: T, token: int) -> R:
    """Run ``fn(task)`` in a worker after telling the parent that task ``token`` starts here, now."""
    _started.put((token, os.getpid(), time.monotonic()))  # CLOCK_MONOTONIC: one clock for all processes
    return fn(task)


class ProcessExecutor:
    """Cells in ``workers`` spawned processes; a crashed worker fails only its own cell.

    ``timeout``: seconds a cell may run, counted from when its worker starts it (not from submission,
    which would count a new worker's start-up and ``preload`` imports); the worker of a cell over it is
    killed, the cell handed to ``on_crash`` with a :class:`CellTimeout`, and the other cells in flight
    run again in a new pool."""

    in_process = False

    def __init__(
        self,
        workers: int,
        on_crash: Callable[[Any, BaseException], Any] | None = None,
        timeout: float | None = None,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.workers = workers
        self.on_crash = on_crash
        self.timeout = timeout
        self.preload = preload
        self.threads_per_worker = max(1, (os.cpu_count() or 1) // workers)

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Take tasks from ``tasks`` lazily, at most ``workers`` in flight (a task is drawn only when a
        worker is free, so a runner that claims cells in its task iterator claims them just in time)."""
        source, exhausted = iter(tasks), False
        retry: list[T] = []  # tasks of a broken pool not delivered: run again first
        tokens = itertools.count()
        while retry or not exhausted:
            context = multiprocessing.get_context("spawn")
            started = context.SimpleQueue() if self.timeout is not None else None
            with futures.ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(self.threads_per_worker, os.getpid(), started, self.preload),
            ) as pool:
                in_flight: dict[futures.Future, T] = {}
                token_of: dict[futures.Future, int] = {}
                running: dict[int, tuple[int, float]] = {}  # token -> (worker pid, start time)
                stopped: set[futures.Future] = set()  # cells over the limit whose worker was killed
                try:
                    while True:
                        while len(in_flight) < self.workers and (retry or not exhausted):
                            if retry:
                                task = retry.pop(0)
                            else:
                                drawn = next(source, _END)
                                if drawn is _END:
                                    exhausted = True
                                    continue
                                task = cast("T", drawn)
                            if started is None:
                                in_flight[pool.submit(fn, task)] = task
                            else:
                                token = next(tokens)
                                future = pool.submit(_announced, fn, task, token)
                                in_flight[future], token_of[future] = task, token
                        if not in_flight:
                            break
                        wait = None if started is None else self._next_check(started, running)
                        done, _ = futures.wait(in_flight, timeout=wait, return_when=futures.FIRST_COMPLETED)
                        if started is not None:
                            self._stop_overdue(in_flight, token_of, running, stopped)
                        if not done:
                            continue
                        broken = False
                        for future in sorted(done, key=lambda f: f.exception() is not None):  # results first
                            task = in_flight.pop(future)
                            try:
                                result = future.result()
                            except futures.process.BrokenProcessPool as exc:
                                if self.on_crash is None:
                                    raise
                                in_flight[future] = task
                                if stopped:  # cells over the limit were stopped: they fail, the others rerun
                                    for f, t in in_flight.items():
                                        if f in stopped:
                                            yield self.on_crash(t, CellTimeout(cast(float, self.timeout)))
                                        else:
                                            retry.append(t)
                                else:  # a crash: blame this cell, re-queue the others in flight
                                    yield self.on_crash(task, exc)
                                    retry.extend(t for f, t in in_flight.items() if f is not future)
                                in_flight.clear()
                                broken = True
                                break
                            yield result
                        if broken:
                            break
                except BaseException:  # Ctrl-C or the consumer stopped: end the cells in flight now
                    for future in in_flight:
                        future.cancel()
                    terminate_workers(pool)
                    raise

    def _next_check(self, started: Any, running: dict[int, tuple[int, float]]) -> float:
        """Read the workers' start notices; seconds until the earliest cell reaches the limit (or a
        short poll while a submitted cell has not started yet)."""
        while not started.empty():
            token, pid, start = started.get()
            running[token] = (pid, start)
        assert self.timeout is not None
        now = time.monotonic()
        deadlines = [start + self.timeout - now for _, start in running.values()]
        return max(0.05, min([0.5, *deadlines]))

    def _stop_overdue(
        self,
        in_flight: dict[futures.Future, T],
        token_of: dict[futures.Future, int],
        running: dict[int, tuple[int, float]],
        stopped: set[futures.Future],
    ) -> None:
        """Kill the worker of every cell in flight past the limit (its pool then breaks)."""
        assert self.timeout is not None
        now = time.monotonic()
        for future in in_flight:
            begun = running.get(token_of.get(future, -1))
            if begun is not None and future not in stopped and now - begun[1] >= self.timeout:
                stopped.add(future)
                try:
                    os.kill(begun[0], signal.SIGKILL)
                except ProcessLookupError:
                    pass


_END = object()


def terminate_workers(pool: futures.ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes without waiting for their cells."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


EXECUTORS = ("local", "ray")


def make_executor(
    workers: int,
    on_crash: Callable | None = None,
    kind: str = "local",
    ray_address: str | None = None,
    cell_timeout: float | None = None,
) -> Executor:
    """``local``: serial for one worker (a worker process when ``cell_timeout`` is set, so that a cell
    over it can be stopped), else a process pool; ``ray``: Ray tasks (``ray_address``: a cluster to
    join, default a new local instance). ``cell_timeout``: seconds a cell may run (None: no limit)."""
    if kind == "ray":
        from mvbench.run.ray_executor import RayExecutor

        return RayExecutor(ray_address, on_crash, timeout=cell_timeout)
    if workers <= 1 and cell_timeout is None:
        return SerialExecutor()
    return ProcessExecutor(workers, on_crash, timeout=cell_timeout, preload=CELL_MODULES)
