"""Shared fixtures: isolated data dir, tracking store and small datasets."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mvbench.data import DatasetCard, MultiViewDataset

#: The real datasets, found by one rule: $MVBENCH_RAW_DIR, else ../shared/data beside the repository.
RAW_DIR = Path(os.environ.get("MVBENCH_RAW_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def needs_raw(*parts: str) -> pytest.MarkDecorator:
    """Skip a real-data test where RAW_DIR/parts is absent, except in CI (CI=true), where the data is
    always there: a missing folder then fails the test instead of hiding it."""
    path = RAW_DIR.joinpath(*parts)
    return pytest.mark.skipif(
        not path.exists() and not os.environ.get("CI"),
        reason=f"{path} absent: set MVBENCH_RAW_DIR to the shared data folder",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the commands the tests start, however the suite itself was started. A shell
    without job control starts a background job (``cmd &`` in a script) with SIGINT ignored, and
    children inherit that: the tests that interrupt a grid or the UI would then see it run on."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_EMPTY_STORE: Path | None = None


def sqlite_store(path: str | os.PathLike) -> str:
    """A new, empty MLflow sqlite store at ``path``; returns its (absolute) URI.

    MLflow migrates a new sqlite store through its whole schema history (seconds); the tests copy one
    store migrated once per session instead. A store's behaviour does not depend on how it was made."""
    global _EMPTY_STORE
    if _EMPTY_STORE is None:
        from mlflow.tracking import MlflowClient

        folder = Path(tempfile.mkdtemp(prefix="mvbench-empty-store-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # one per test process, gone with it
        MlflowClient(f"sqlite:///{folder / 'mlflow.db'}").search_experiments()  # creates and migrates it
        _EMPTY_STORE = folder / "mlflow.db"
    path = Path(path).resolve()
    shutil.copyfile(_EMPTY_STORE, path)
    return f"sqlite:///{path}"  # absolute: MLflow caches stores by URI


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own data dir and working directory, holding an empty store ``mlflow.db``
    (the CLI's default tracking URI)."""
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MVBENCH_RAW_DIR", str(RAW_DIR))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    sqlite_store(tmp_path / "mlflow.db")
    yield


def blobs(
    n: int = 90,
    k: int = 3,
    dims: tuple[int, ...] = (4, 6),
    sep: float = 6.0,
    seed: int = 0,
    names: tuple[str, ...] | None = None,
) -> MultiViewDataset:
    """Well-separated Gaussian clusters seen by every view."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    views = []
    for d in dims:
        centres = rng.standard_normal((k, d)) * sep
        views.append((centres[labels] + rng.standard_normal((n, d))).astype(np.float32))
    names = names or tuple(f"v{i}" for i in range(len(dims)))
    return MultiViewDataset(
        views, list(names), labels=labels, ids=[f"s{i}" for i in range(n)], card=DatasetCard(name="blobs")
    )


@pytest.fixture
def small_dataset() -> MultiViewDataset:
    return blobs()
