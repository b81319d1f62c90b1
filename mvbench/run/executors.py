"""Executors: how cells are computed. Results always come back to the caller, which alone logs them.

``SerialExecutor`` runs cells in this process; ``ProcessExecutor`` runs them in N worker processes
(spawned, each limited to its share of the CPU threads). A distributed engine slots in as another
class with the same ``map_unordered`` method: ``RayExecutor`` (mvbench.run.ray_executor) runs cells as
Ray tasks. Executors pull tasks lazily, keeping a bounded number in flight.
"""
from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    #: Whether cells run in this process (then they may show progress under the grid's bar).
    in_process: bool

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """Yield ``fn(task)`` for every task, in completion order."""
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


def init_worker(n_threads: int, parent_pid: int) -> None:
    """Worker initialiser: die with the parent, leave Ctrl-C to it, and cap threads."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool on Ctrl-C
    limit_threads(n_threads)


class ProcessExecutor:
    """Cells in ``workers`` spawned processes; a crashed worker fails only its own cell."""

    in_process = False

    def __init__(self, workers: int, on_crash: Callable[[Any, BaseException], Any] | None = None) -> None:
        self.workers = workers
        self.on_crash = on_crash
        self.threads_per_worker = max(1, (os.cpu_count() or 1) // workers)

    def map_unordered(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        pending = list(tasks)
        while pending:
            context = multiprocessing.get_context("spawn")
            with futures.ProcessPoolExecutor(self.workers, mp_context=context, initializer=init_worker,
                                             initargs=(self.threads_per_worker, os.getpid())) as pool:
                submitted = {pool.submit(fn, task): task for task in pending}
                pending, delivered = [], set()
                try:
                    for future in futures.as_completed(submitted):
                        try:
                            result = future.result()
                        except futures.process.BrokenProcessPool as exc:
                            # The pool is gone: blame this cell, re-queue the others not delivered.
                            if self.on_crash is None:
                                raise
                            yield self.on_crash(submitted[future], exc)
                            pending = [t for f, t in submitted.items() if f not in delivered and f is not future]
                            break
                        delivered.add(future)
                        yield result
                except BaseException:  # Ctrl-C or the consumer stopped: end the cells in flight now
                    for future in submitted:
                        future.cancel()
                    terminate_workers(pool)
                    raise


def terminate_workers(pool: futures.ProcessPoolExecutor) -> None:
    """Stop a pool's worker processes without waiting for their cells."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


EXECUTORS = ("local", "ray")


def make_executor(workers: int, on_crash: Callable | None = None, kind: str = "local",
                  ray_address: str | None = None) -> Executor:
    """``local``: serial for one worker, else a process pool; ``ray``: Ray tasks (``ray_address``: a
    cluster to join, default a new local instance)."""
    if kind == "ray":
        from mvbench.run.ray_executor import RayExecutor

        return RayExecutor(ray_address, on_crash)
    return SerialExecutor() if workers <= 1 else ProcessExecutor(workers, on_crash)
