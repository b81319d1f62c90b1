"""Training curves: logged at the epochs they belong to, and drawn in the HTML report."""

import shutil
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import sqlite_store

from mvbench import registry
from mvbench.data.sources import DataPaths
from mvbench.method import FitResult, Method
from mvbench.record.tracking import Tracker
from mvbench.report.curves import chosen_runs, run_curves
from mvbench.report.html import collect
from mvbench.report.tables import runs_frame
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


@dataclass
class StagedConfig:
    say_first_epoch: bool = True


class Staged(Method):
    """Two stages: 3 epochs of reconstruction, then 2 of a contrastive term; labels read out in the
    second stage only (as the contrastive family), the second read-out a single cluster."""

    Config = StagedConfig

    def fit_predict(self, data, n_clusters, seed):
        good = np.argmax(data.view(0)[:, :n_clusters], axis=1)
        history = [{"reconstruction": 1.0 / (e + 1)} for e in range(3)] + [{"contrastive": 5.0 - e} for e in range(2)]
        info = {"label_history_first_epoch": 3.0} if self.config.say_first_epoch else {}
        return FitResult(good, history=history, label_history=[good, np.zeros_like(good)], info=info)


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    registry.methods().register("staged", Staged, replace_existing=True)
    monkeypatch.chdir(tmp_path)
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "curves")
    spec = GridSpec(
        methods=[Entry("staged"), Entry("staged", {"say_first_epoch": False}, label="staged (silent)")],
        datasets=[Entry("synthetic", {"n_samples": 60})],
        repetitions=2,
        missing_rates=[0.0, 0.3],
    )
    run_grid(plan(spec, DataPaths.resolve(tmp_path / "data")), tracker, show_progress=False)
    yield tracker
    registry._methods = None


def steps(tracker: Tracker, run, name: str) -> list[int]:
    return [m.step for m in sorted(tracker.client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)]


def test_each_curve_is_logged_at_its_epochs(tracker):
    for run in tracker.cell_runs():
        assert steps(tracker, run, "train/reconstruction") == [0, 1, 2]
        assert steps(tracker, run, "train/contrastive") == [3, 4]  # not 0, 1: the second stage's epochs
        # the label read-out: from label_history_first_epoch, or (not said) the last epochs of the history
        assert steps(tracker, run, "train/acc") == steps(tracker, run, "train/nmi") == [3, 4]


def test_report_draws_one_run_per_method_and_dataset(tracker):
    runs = chosen_runs(runs_frame(tracker), tracker.latest_by_key())
    assert len(runs) == 2  # two method rows on one dataset, of 8 cells
    curves = [run_curves(tracker, row, run) for row, run in runs]
    assert {c.method for c in curves} == {"staged", "staged (silent)"}
    for c in curves:
        assert (c.condition, c.repetition) == ("complete", 0)
        assert c.losses["contrastive"] == ([3, 4], [5.0, 4.0])
        epochs, nmi = c.scores["nmi"]
        assert epochs == [3, 4] and nmi[0] > 0 and nmi[1] == pytest.approx(0.0)  # the 2nd read-out: one cluster
    report = collect(tracker)
    assert "training_curves" in [p.name for p in report.plots]


def test_report_reads_a_store_whose_artifacts_are_gone(tracker, tmp_path):
    shutil.rmtree(tmp_path / "mlruns")  # the artifact folder, e.g. deleted with an old checkout
    report = collect(tracker)
    assert "could not be read" in report.settings["config"]
