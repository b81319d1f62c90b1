"""Degenerate data is refused (one line, exit 2, nothing logged) or flagged before anything runs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from test_cli import child_runs, mvbench_in_process

from mvbench.data import DatasetCard, MultiViewDataset, store
from mvbench.data.conditions import Condition
from mvbench.data.degenerate import check_clusterable, constant_views
from mvbench.data.model import DataValidationError
from mvbench.method import FitResult, Method
from mvbench.run.cell import CellTask, run_cell
from mvbench.run.grid import Cell

N = 30
RNG = np.random.default_rng(0)
Y = np.arange(N) % 3 + 1
A = RNG.standard_normal((N, 4))
B = RNG.standard_normal((N, 5))


def cell_array(*items) -> np.ndarray:
    out = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        out[0, i] = item
    return out


def import_file(tmp_path: Path, variables: dict, name: str = "bad"):
    path = tmp_path / f"{name}.mat"
    scipy.io.savemat(path, variables)
    return mvbench_in_process("datasets", "import", str(path), "--name", name)


def assert_refused(code: int, err: str, message: str) -> None:
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err, err


def save_imported(data: MultiViewDataset, name: str) -> None:
    """A prepared file as an older mvbench (without these checks) may have imported it."""
    data.card = DatasetCard(name=name, extra={"imported": {"file": f"{name}.mat", "sha256": "0" * 64}})
    store.save(data, Path(os.environ["MVBENCH_DATA_DIR"]) / f"{name}.h5")


def test_an_all_nan_view_is_refused_at_import(tmp_path):
    nan_view = np.full_like(B, np.nan)
    code, _, err = import_file(tmp_path, {"X": cell_array(A, nan_view), "y": Y[:, None]})
    assert_refused(code, err, "view 'view1' has no observed row")
    assert not (Path(os.environ["MVBENCH_DATA_DIR"]) / "bad.h5").exists()


def test_one_class_is_refused_at_import_and_at_plan_time(tmp_path):
    code, _, err = import_file(tmp_path, {"X": cell_array(A, B), "y": np.ones((N, 1))})
    assert_refused(code, err, "the labels hold 1 class: clustering needs at least 2")
    save_imported(MultiViewDataset([A.astype(np.float32)], ["a"], labels=np.zeros(N, int)), "one_class")
    code, _, err = mvbench_in_process("run", "--methods", "km_concat", "--datasets", "one_class", "--seeds", "1")
    assert_refused(code, err, "dataset 'one_class': the labels hold 1 class")
    assert not child_runs()


def test_a_view_without_observed_rows_is_refused_at_plan_time():
    mask = np.column_stack([np.ones(N, bool), np.zeros(N, bool)])
    data = MultiViewDataset([A.astype(np.float32), np.zeros((N, 5), np.float32)], ["a", "b"], mask, labels=Y - 1)
    save_imported(data, "empty_b")
    code, _, err = mvbench_in_process("run", "--methods", "km_concat", "--datasets", "empty_b", "--seeds", "1")
    assert_refused(code, err, "dataset 'empty_b': view 'b' has no observed row")
    assert not child_runs()


def test_subsample_down_to_one_sample_per_class_is_refused():
    code, _, err = mvbench_in_process("run", "--methods", "km", "--datasets", "synthetic", "--subsample", "0.01")
    assert_refused(code, err, "clustering needs more samples than classes (raise --subsample)")
    assert "subsample" in err
    assert not child_runs()


def test_zero_variance_view_is_flagged_and_refused_by_km_on_that_view(tmp_path):
    constant = np.ones_like(B)
    code, _, err = import_file(tmp_path, {"X": cell_array(A, constant), "y": Y[:, None]}, name="flat")
    assert code == 0 and "warning: view 'view1' has zero variance" in err, err
    code, _, err = mvbench_in_process(
        "run", "--methods", "km", "--datasets", "flat", "--param", "km.view=view1", "--seeds", "1"
    )
    assert_refused(code, err, "km(view=view1) cannot run on dataset 'flat': km: view view1 has zero variance")
    assert not child_runs()
    code, out, err = mvbench_in_process("run", "--methods", "km_concat", "--datasets", "flat", "--seeds", "1")
    assert code == 0 and "warning: dataset 'flat': view 'view1' has zero variance" in err, out + err
    assert len(child_runs()) == 1


@pytest.mark.parametrize(
    "mask, labels, message",
    [
        (np.ones((4, 2), bool), np.array([0, 1, 0, 1]), None),
        (np.ones((2, 2), bool), np.array([0, 1]), "2 samples for K=2 classes"),
        (np.ones((4, 2), bool), np.zeros(4), "hold 1 class"),
        (np.column_stack([np.ones(4, bool), np.zeros(4, bool)]), None, "view 'b' has no observed row"),
    ],
)
def test_check_clusterable(mask, labels, message):
    if message is None:
        check_clusterable(mask, labels, ["a", "b"])
    else:
        with pytest.raises(DataValidationError, match=message):
            check_clusterable(mask, labels, ["a", "b"])


def test_constant_views_reads_observed_rows_only():
    x = np.ones((4, 2), np.float32)
    x[0] = 5.0  # differs, but unobserved
    mask = np.array([[False, True], [True, True], [True, True], [True, True]])
    data = MultiViewDataset([x, RNG.standard_normal((4, 3)).astype(np.float32)], ["c", "d"], mask)
    assert constant_views(data) == ["c"]


class NanLabels(Method):
    """Returns NaN labels (a broken method)."""

    def fit_predict(self, data, n_clusters, seed):
        return FitResult(labels=np.full(data.n_samples, np.nan))


def test_nan_labels_fail_the_cell_naming_the_output(tmp_path):
    data = MultiViewDataset([A.astype(np.float32)], ["a"], labels=Y - 1, card=DatasetCard(name="d"))
    path = store.save(data, tmp_path / "d.h5")
    cell = Cell("nan", "nan", (), "d", "d", (), data.content_sha256(), Condition(), 0, "mean", "x")
    result = run_cell(CellTask(cell, path, NanLabels))
    assert result.status == "failed"
    assert result.error.startswith(f"ValueError: nan returned {N} NaN or infinite labels in FitResult.labels"), result
