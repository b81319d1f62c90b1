"""MLflow tracking: one parent run per invocation, one child run per cell.

Only the process that owns a :class:`Tracker` writes to the store (workers return results), so a
local sqlite store is never written concurrently. Nothing is overwritten: a re-run (``--force``)
adds a new child run and reports use the latest finished run of each cell.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvbench.record.resilience import (
    DEFAULT_RETRY_SECONDS,
    RetryingClient,
    StoreRetry,
    TrackingUnavailable,
    configure_http_client,
    single_attempt,
)
from mvbench.record.schema import (
    CELL,
    DEFAULT_METRICS,
    DONE,
    ENDED_TAG,
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    GRID_CELLS_ARTIFACT,
    GRID_CONFIG_ARTIFACT,
    KEY_TAG,
    KIND_TAG,
    MASK_ARTIFACT,
    MLFLOW_STATUS,
    NOTE_TAG,
    OWNER_TAG,
    REPORT_DIR,
    STATUS_TAG,
    VIEW_KEY,
    VIEW_TAG,
    CellResult,
    cell_key,
    cell_metrics,
    cell_params,
    cell_settings,
    cell_tags,
    cells_filter,
    grid_tags,
    grids_filter,
)
from mvbench.run.faults import fault_point

if TYPE_CHECKING:
    from mvbench.run.grid import Cell

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


class TrackingError(RuntimeError):
    """The tracking store cannot be reached or used (one-line message)."""


def resolve_uri(uri: str | None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db``; a relative sqlite path is made
    absolute (MLflow caches a store per URI, so a relative one would follow the first working directory)."""
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{Path(uri[len('sqlite:///') :]).resolve()}"
    return uri


def require_store(uri: str) -> None:
    """Refuse to read a local sqlite store that does not exist (MLflow would create an empty one)."""
    if uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///") :]).exists():
        raise TrackingError(
            f"no tracking store at {uri[len('sqlite:///') :]}: run mvbench from the folder of your mlflow.db, "
            f"or pass --tracking-uri"
        )


@lru_cache(maxsize=1)
def mvbench_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mvbench")
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The commit of the mvbench source tree, when it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


@contextmanager
def store_creation_lock(uri: str) -> Iterator[None]:
    """For a local sqlite store, hold an exclusive lock file beside it (other stores: no-op)."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    lock_path = Path(uri[len("sqlite:///") :] + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a")
    except OSError:
        if not lock_path.with_suffix("").exists():
            raise
        yield  # a store that exists on a read-only place: read it, there is nothing to create
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Tracker:
    """Reads and writes mvbench runs of one MLflow experiment.

    ``client`` is an ``MlflowClient`` whose every call waits out an unreachable store (``retry``, see
    :mod:`mvbench.record.resilience`), raising :class:`TrackingUnavailable` once its budget is spent."""

    def __init__(
        self, uri: str | None, experiment: str, create: bool = True, retry_seconds: float = DEFAULT_RETRY_SECONDS
    ) -> None:
        """``retry_seconds``: how long every call waits out an unreachable store before giving up with
        :class:`TrackingUnavailable` (:mod:`mvbench.record.resilience`); start-up included."""
        configure_http_client()
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        for name in ("mlflow", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # MLflow's retries: no line each

        self.uri = resolve_uri(uri)
        self.experiment_name = experiment
        if not create:
            require_store(self.uri)
        self.retry = StoreRetry(self.uri, retry_seconds)
        try:
            with store_creation_lock(self.uri):  # two processes creating one new store: one migrates
                self.client = RetryingClient(self.retry.call(MlflowClient, tracking_uri=self.uri), self.retry)
                exp = self.client.get_experiment_by_name(experiment)
                if exp is None and create:
                    try:
                        self.client.create_experiment(experiment, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND})
                    except MlflowException as exc:  # another invocation on a shared server created it first
                        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                            raise
                    exp = self.client.get_experiment_by_name(experiment)
                elif exp is not None and create and EXPERIMENT_KIND_TAG not in exp.tags:  # made by an older mvbench
                    self._set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
        except TrackingUnavailable:  # the right URI, but the store stayed away for the whole budget
            raise
        except Exception as exc:  # MLflow raises many types for an unusable store
            raise TrackingError(
                f"cannot use tracking URI {self.uri!r}: {first_line(exc)}; check --tracking-uri or MLFLOW_TRACKING_URI"
            ) from None
        if exp is None:
            raise TrackingError(
                f"no experiment named {experiment!r} in {self.uri}: run `mvbench run --experiment {experiment}` first"
            )
        self.experiment_id = exp.experiment_id

    # -- reading ----------------------------------------------------------------------------------
    def cell_runs(self, status: str | None = None) -> list[Any]:
        """The completely logged cell runs of the experiment (optionally of one mvbench status).

        A run counts only once its status tag, written last, is there: runs of a writer killed
        mid-logging are left out, so their cells count as missing."""
        query = cells_filter(status)
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], query, max_results=5000, page_token=token, order_by=["attributes.start_time DESC"]
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def latest_by_key(self) -> dict[str, Any]:
        """The most recent run of each cell key (any status)."""
        latest: dict[str, Any] = {}
        for run in self.cell_runs():
            key = cell_key(run)
            if key and key not in latest:  # runs come newest first
                latest[key] = run
        return latest

    def completed_keys(self) -> set[str]:
        """Keys of cells with a done run: resume skips these (failed and skipped cells are retried)."""
        return {key for r in self.cell_runs(DONE) if (key := cell_key(r))}

    def done_since(self, key: str, since_ms: int = 0) -> bool:
        """Whether cell ``key`` has a done run started at or after ``since_ms`` (epoch milliseconds)."""
        query = f"{cells_filter(DONE)} and tags.`{KEY_TAG}` = '{key}' and attributes.start_time >= {int(since_ms)}"
        return bool(self.client.search_runs([self.experiment_id], query, max_results=1))

    def parent_runs(self) -> list[Any]:
        return self.client.search_runs(
            [self.experiment_id], grids_filter(), order_by=["attributes.start_time DESC"], max_results=1000
        )

    def grid_cells(self, run_id: str) -> list[dict[str, Any]]:
        """The cells a grid run planned (its ``grid.json``): key, method, dataset, condition, repetition."""
        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.download_artifacts(run_id, GRID_CELLS_ARTIFACT, tmp)
            return json.loads(Path(path).read_text())["cells"]

    # -- writing ----------------------------------------------------------------------------------
    def start_grid(self, cells: list[Cell], command: str, config: dict[str, Any]) -> str:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"grid {time.strftime('%Y-%m-%d %H:%M:%S')}",
            tags=grid_tags(len(cells), command, owner(), mvbench_version(), git_commit()),
        )
        run_id = run.info.run_id
        self.client.log_dict(run_id, {"cells": [c.describe() for c in cells]}, GRID_CELLS_ARTIFACT)
        self.client.log_dict(run_id, config, GRID_CONFIG_ARTIFACT)
        self.set_runs_view(cells)
        return run_id

    def set_runs_view(self, cells: list[Cell]) -> None:
        """The runs table that ``runs_url`` opens: the cells (not the grid runs), sorted by name, with the
        default metrics and the params that vary in this grid (method, dataset, condition, swept
        hyper-parameters and dataset parameters, repetition) as columns."""
        varying: dict[str, set[str]] = {}
        for cell in cells:
            params = {
                "method": cell.method,
                "dataset": cell.dataset,
                "repetition": cell.repetition,
                **{f"condition.{k}": v for k, v in cell.condition.as_params().items()},
                **{f"method.{k}": v for k, v in cell.method_params},
                **{f"dataset.{k}": v for k, v in cell.dataset_params},
            }
            for key, value in params.items():
                varying.setdefault(key, set()).add(str(value))
        shown = (
            ["method", "dataset"]
            + sorted(k for k, v in varying.items() if len(v) > 1 and k not in ("method", "dataset", "repetition"))
            + ["repetition"]
        )
        state = {
            "searchFilter": f"tags.`{KIND_TAG}` = '{CELL}'",
            "orderByKey": "tags.`mlflow.runName`",
            "orderByAsc": True,
            "selectedColumns": [f"metrics.`{m}`" for m in DEFAULT_METRICS] + [f"params.`{k}`" for k in shown],
            "columnOrder": ["attributes.`Run Name`"],
            "columnWidths": {"attributes.`Run Name`": 380},
        }
        self._set_experiment_tag(self.experiment_id, VIEW_TAG, json.dumps(state))

    def _set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set an experiment tag, retrying a lost race: MLflow's SQL store upserts a tag by a read then an
        insert, so two invocations on a shared store setting the same new tag at once can collide on
        its primary key; the retry finds the row and updates it."""
        from mlflow.exceptions import MlflowException

        for attempt in range(3):
            try:
                self.client.set_experiment_tag(experiment_id, key, value)
                return
            except MlflowException as exc:
                if attempt == 2 or not re.search(r"unique|duplicate key", str(exc), re.IGNORECASE):
                    raise
                time.sleep(0.1 * (attempt + 1))

    def log_report(self, run_id: str, folder: Path, note: str) -> None:
        """Attach a report (the files of ``folder``) to a grid run under ``report/``, replacing the
        files of the same names, and show ``note`` (markdown) as the run's description."""
        self.client.log_artifacts(run_id, str(folder), REPORT_DIR)
        self.client.set_tag(run_id, NOTE_TAG, note)

    def end_grid(self, run_id: str, counts: dict[str, int], status: str = "FINISHED", wait: bool = True) -> None:
        """Log the grid's cell counts and end its run; ``wait=False``: one attempt, not waiting out an outage."""
        from mlflow.entities import Metric

        client = self.client if wait else single_attempt(self.client)
        now = int(time.time() * 1000)
        client.log_batch(run_id, metrics=[Metric(f"cells_{k}", float(v), now, 0) for k, v in counts.items()])
        client.set_terminated(run_id, status)

    def log_cell(self, parent_id: str, result: CellResult) -> str:
        """Log one cell as a child run; the status tag, the "done" marker, is written last.

        A run without that tag (the writer was killed mid-logging) counts as missing everywhere;
        an interrupted writer ends its run as KILLED.
        """
        from mlflow.entities import Metric, Param

        run = self.client.create_run(
            self.experiment_id,
            run_name=result.cell.run_name,
            tags=cell_tags(result, parent_id, owner(), mvbench_version(), git_commit()),
        )
        run_id = run.info.run_id
        try:
            now = int(time.time() * 1000)
            metrics = [Metric(name, value, now, step) for name, value, step in cell_metrics(result)]
            param_list = [Param(k, str(v)[:6000]) for k, v in cell_params(result).items()]
            # MLflow's batch limits: 100 params and 1000 entities per call.
            for i in range(0, len(param_list), 100):
                self.client.log_batch(run_id, params=param_list[i : i + 100])
            for i in range(0, len(metrics), 1000):
                self.client.log_batch(run_id, metrics=metrics[i : i + 1000])
            self._log_artifacts(run_id, result)
            fault_point("before_marker")
            self.client.set_terminated(run_id, MLFLOW_STATUS[result.status])
            self.client.set_tag(run_id, STATUS_TAG, result.status)
        except BaseException:
            self._end_killed(run_id, "interrupted while logging")
            raise
        return run_id

    def _end_killed(self, run_id: str, why: str) -> None:
        """Best effort: mark a run this process abandons as KILLED (never deleted); one attempt, no wait."""
        if self.retry.gave_up:  # the store is away: the next invocation ends the run (reap_dead_runs)
            return
        try:
            client = single_attempt(self.client)
            client.set_tag(run_id, ENDED_TAG, why)
            client.set_terminated(run_id, "KILLED")
        except BaseException:  # the store may be unreachable, or the user pressed Ctrl-C again
            pass

    def reap_dead_runs(self) -> int:
        """End as KILLED the runs left RUNNING by a dead mvbench process of this host; returns how many."""
        query = f"attributes.status = 'RUNNING' and tags.`{OWNER_TAG}` LIKE '{socket.gethostname()}:%'"
        reaped = 0
        for run in self.client.search_runs([self.experiment_id], query, max_results=5000):
            if not owner_alive(run.data.tags.get(OWNER_TAG, "")):
                self._end_killed(run.info.run_id, "its mvbench process died (ended by the next invocation)")
                reaped += 1
        return reaped

    def _log_artifacts(self, run_id: str, result: CellResult) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "config.json").write_text(json.dumps(cell_settings(result), indent=2, default=str))
            if result.labels is not None and result.ids is not None:
                buf = io.StringIO()
                buf.write("id,label\n")
                for i, y in zip(result.ids, result.labels):
                    buf.write(f"{i},{int(y)}\n")
                (tmp_path / "labels.csv").write_text(buf.getvalue())
            if result.traceback:
                (tmp_path / "traceback.txt").write_text(result.traceback)
            if result.mask is not None and result.ids is not None:
                rows = [",".join(["id", *result.view_names])]
                rows += [f"{i}," + ",".join("1" if o else "0" for o in row) for i, row in zip(result.ids, result.mask)]
                (tmp_path / MASK_ARTIFACT).write_text("\n".join(rows) + "\n")
            self.client.log_artifacts(run_id, tmp)


def find_experiment(uri: str | None, name: str | None = None) -> Any | None:
    """Experiment ``name``; by default the one whose mvbench grid ran last, else ``mvbench``. None if absent."""
    from mlflow.tracking import MlflowClient

    uri = resolve_uri(uri)
    configure_http_client()
    retry = StoreRetry(uri)
    try:
        with store_creation_lock(uri):
            client = RetryingClient(retry.call(MlflowClient, tracking_uri=uri), retry)
            if name is None:
                ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
                latest = (
                    client.search_runs(ids, grids_filter(), max_results=1, order_by=["attributes.start_time DESC"])
                    if ids
                    else []
                )
                if latest:
                    return client.get_experiment(latest[0].info.experiment_id)
            return client.get_experiment_by_name(name or "mvbench")
    except TrackingUnavailable:
        raise
    except Exception as exc:  # MLflow raises many types for an unusable store
        raise TrackingError(
            f"cannot use tracking URI {uri!r}: {first_line(exc)}; check --tracking-uri or MLFLOW_TRACKING_URI"
        ) from None


def runs_url(base: str, experiment: Any) -> str:
    """The MLflow UI's runs table of ``experiment`` (its mvbench view when it has one)."""
    view = f"&viewStateShareKey={VIEW_KEY}" if VIEW_TAG in experiment.tags else ""
    return f"{base}/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning{view}"


def report_url(base: str, run: Any) -> str:
    """The MLflow UI's page of a grid run's HTML report."""
    return (
        f"{base}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}/artifacts/{REPORT_DIR}/"
        f"report.html?workflowType=machine_learning"
    )


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot ('' if unknown or not running)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def owner() -> str:
    """``host:pid:start`` naming this process (the start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid())}"


def owner_alive(tag: str) -> bool:
    """Whether the process named by an owner tag of this host still runs."""
    host, _, rest = tag.partition(":")
    pid, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: nothing to tell from here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not start or _process_start(int(pid)) == start


def first_line(exc: BaseException) -> str:
    """A short one-line description of ``exc`` (the OS error when one is buried in it)."""
    text = " ".join(str(exc).split())
    errno = re.search(r"\[Errno -?\d+\] ([^\"')(]+)", text)
    if errno:
        return errno.group(1).strip()
    return f"{type(exc).__name__}: {text[:200]}"
