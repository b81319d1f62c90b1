"""The grid runner end to end through the Python API, on a local sqlite MLflow store."""

from dataclasses import dataclass

import numpy as np
import pytest
from conftest import sqlite_store

from mvbench import registry
from mvbench.data.sources import DataPaths
from mvbench.method import Capabilities, FitResult, Method, RunContext
from mvbench.record.tracking import Tracker
from mvbench.report.tables import aggregate, render, runs_frame
from mvbench.run.grid import Entry, GridSpec
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid


@dataclass
class ToyConfig:
    fail_on_rep: int = -1
    epochs: int = 3


class Toy(Method):
    """Labels from K-means-free rule: the argmax of the first view's first K features; optionally fails."""

    Config = ToyConfig
    capabilities = Capabilities(handles_missing=True)
    seen_masks: list = []

    def fit_predict(self, data, n_clusters, seed):
        if self.config.fail_on_rep >= 0 and data.mask.sum() % 2 == 0 and seed % 2 == 0:
            raise RuntimeError("planned failure")
        Toy.seen_masks.append(data.mask.copy())
        labels = np.argmax(data.view(0)[:, :n_clusters], axis=1)
        history = [{"loss": 1.0 / (e + 1)} for e in range(self.config.epochs)]
        return FitResult(labels, history=history, label_history=[labels] * self.config.epochs)


class OddNames(Method):
    """Names its metrics and curves after views, with characters MLflow refuses (``+``, ``,``)."""

    def fit_predict(self, data, n_clusters, seed):
        labels = np.zeros(data.n_samples, dtype=int)
        return FitResult(labels, history=[{"loss_a+b": 1.0}], info={"pretrain_cached_a+b,c": 1.0})


class Boom(Method):
    """Always fails."""

    def fit_predict(self, data, n_clusters, seed):
        raise ValueError("boom inside the method")


@pytest.fixture(autouse=True)
def toy_methods():
    registry.methods().register("toy", Toy, replace_existing=True)
    registry.methods().register("boom", Boom, replace_existing=True)
    registry.methods().register("odd", OddNames, replace_existing=True)
    Toy.seen_masks = []
    yield
    registry._methods = None


def spec(methods=("toy",), **kw) -> GridSpec:
    return GridSpec(
        methods=[Entry(m) for m in methods],
        datasets=[Entry("synthetic", {"n_samples": 90})],
        repetitions=kw.pop("repetitions", 2),
        **kw,
    )


def test_one_child_run_per_cell_with_params_metrics_tags_and_artifacts(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    grid = plan(spec(missing_rates=[0.0, 0.3]))
    outcome = run_grid(grid, tracker, show_progress=False)
    assert len(grid.cells) == 4 and outcome.counts == {"done": 4, "failed": 0, "skipped": 0}
    runs = tracker.cell_runs()
    assert len(runs) == 4
    run = [r for r in runs if r.data.params["condition.missing_rate"] == "0.3"][0]
    assert {
        "method",
        "dataset",
        "seed",
        "repetition",
        "method.epochs",
        "condition.missing_view",
        "condition.subsample",
        "imputation",
        "dataset.n_samples",
    } <= set(run.data.params)
    assert {"acc", "nmi", "ari", "purity", "fit_seconds", "peak_memory_mb"} <= set(run.data.metrics)
    tags = run.data.tags
    assert tags["mvbench.status"] == "done" and len(tags["mvbench.dataset_sha256"]) == 64
    assert tags["mlflow.parentRunId"] == outcome.parent_run_id and tags["mvbench.version"]
    artifacts = {a.path for a in tracker.client.list_artifacts(run.info.run_id)}
    assert artifacts == {"config.json", "labels.csv", "mask.csv"}  # the mask, since views are missing
    complete = [r for r in runs if r.data.params["condition.missing_rate"] == "0.0"][0]
    assert {a.path for a in tracker.client.list_artifacts(complete.info.run_id)} == {"config.json", "labels.csv"}
    assert len(tags["mvbench.mask_sha256"]) == 64 != complete.data.tags["mvbench.mask_sha256"]
    curve = tracker.client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in curve] == [0, 1, 2] and curve[-1].value == pytest.approx(1 / 3)
    assert len(tracker.client.get_metric_history(run.info.run_id, "train/acc")) == 3


def test_metric_names_mlflow_refuses_are_made_safe(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    outcome = run_grid(plan(spec(methods=("odd",), repetitions=1)), tracker, show_progress=False)
    assert outcome.counts["done"] == 1
    metrics = tracker.cell_runs("done")[0].data.metrics
    assert metrics["pretrain_cached_a_b_c"] == 1.0 and "train/loss_a_b" in metrics


def test_rerun_skips_finished_cells_and_force_adds_runs_without_overwriting(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    run_grid(plan(spec()), tracker, show_progress=False)
    again = run_grid(plan(spec()), tracker, show_progress=False)
    assert again.ran == [] and again.skipped_done == 2 and again.parent_run_id is None
    assert len(tracker.cell_runs()) == 2
    bigger = run_grid(plan(spec(repetitions=3)), tracker, show_progress=False)
    assert len(bigger.ran) == 1  # only the missing repetition
    forced = run_grid(plan(spec()), tracker, force=True, show_progress=False)
    assert len(forced.ran) == 2 and len(tracker.cell_runs()) == 5


def test_failed_cell_is_logged_and_the_grid_goes_on(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    outcome = run_grid(plan(spec(methods=("boom", "toy"))), tracker, show_progress=False)
    assert outcome.counts == {"done": 2, "failed": 2, "skipped": 0}
    failed = tracker.cell_runs("failed")
    assert len(failed) == 2 and failed[0].info.status == "FAILED"
    assert failed[0].data.tags["mvbench.error"] == "ValueError: boom inside the method"
    assert {a.path for a in tracker.client.list_artifacts(failed[0].info.run_id)} == {"config.json", "traceback.txt"}
    # failed cells are retried on the next run, done ones are not
    assert len(run_grid(plan(spec(methods=("boom", "toy"))), tracker, show_progress=False).ran) == 2


def test_masks_are_identical_across_methods_and_imputation_is_recorded(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    grid = plan(
        GridSpec(
            methods=[Entry("toy"), Entry("km_concat", {"n_init": 1})],
            datasets=[Entry("synthetic", {"n_samples": 90})],
            missing_rates=[0.3],
            repetitions=3,
        )
    )
    run_grid(grid, tracker, show_progress=False)
    by_method = {}
    for run in tracker.cell_runs():
        by_method.setdefault(run.data.params["method"], {})[run.data.params["repetition"]] = run
    assert by_method["km_concat"]["0"].data.params["imputation"] == "mean"
    assert by_method["toy"]["0"].data.params["imputation"] == "none"  # handles missing views itself
    masks = Toy.seen_masks
    assert len(masks) == 3 and not np.array_equal(masks[0], masks[1])
    from mvbench.data import sources, store

    data = store.load(sources.prepare("synthetic", sources.DataPaths.resolve(), {"n_samples": 90}))
    for rep, mask in enumerate(masks):
        np.testing.assert_array_equal(grid.cells[0].condition.apply(data, rep).mask, mask)
    seeds = {run.data.params["seed"] for run in tracker.cell_runs()}
    assert len(seeds) == 6  # the method seed adds the method to the paired data stream


def test_parallel_workers_give_the_same_results(tmp_path):
    serial = Tracker(sqlite_store(tmp_path / "a.db"), "e")
    parallel = Tracker(sqlite_store(tmp_path / "b.db"), "e")
    grid = GridSpec(
        methods=[Entry("km_concat", {"n_init": 2})],
        datasets=[Entry("synthetic", {"n_samples": 90})],
        missing_rates=[0.0, 0.2],
        repetitions=2,
    )
    run_grid(plan(grid), serial, show_progress=False)
    run_grid(plan(grid), parallel, workers=2, show_progress=False)

    def acc(t):
        return sorted((r.data.tags["mvbench.cell_key"], r.data.metrics["acc"]) for r in t.cell_runs())

    assert acc(serial) == acc(parallel) and len(acc(serial)) == 4


def test_memory_estimate_refuses_cells_up_front(tmp_path):
    class Hungry(Toy):
        @classmethod
        def memory_estimate(cls, config, n_samples, view_dims):
            return 8 * n_samples**2 * 1000

    registry.methods().register("hungry", Hungry, replace_existing=True)
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    outcome = run_grid(plan(spec(methods=("hungry",), repetitions=1), memory_limit=2**20), tracker, show_progress=False)
    assert outcome.counts["skipped"] == 1
    (run,) = tracker.cell_runs()
    assert run.data.tags["mvbench.status"] == "skipped" and "GiB limit" in run.data.tags["mvbench.error"]
    # raising the limit, as the message advises, retries the skipped cell (only done cells are resumed)
    again = run_grid(plan(spec(methods=("hungry",), repetitions=1), memory_limit=2**40), tracker, show_progress=False)
    assert again.counts["done"] == 1 and again.skipped_done == 0
    assert run_grid(plan(spec(methods=("hungry",), repetitions=1)), tracker, show_progress=False).skipped_done == 1


def test_report_formats_mark_the_best(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    run_grid(
        plan(
            GridSpec(
                methods=[Entry("toy"), Entry("km_concat", {"n_init": 1})],
                datasets=[Entry("synthetic", {"n_samples": 90})],
                repetitions=2,
            )
        ),
        tracker,
        show_progress=False,
    )
    agg = aggregate(runs_frame(tracker))
    assert list(agg["method"]) == ["toy", "km_concat(n_init=1)"] and list(agg["n"]) == [2, 2]
    md = render(agg, "markdown")
    assert md.count("**") >= 6 and "| method | synthetic(n_samples=90) ACC |" in md
    tex = render(agg, "latex")
    assert r"\textbf{" in tex and r"$\pm$" in tex
    csv = render(agg, "csv")
    assert csv.splitlines()[0].startswith("condition,dataset,group,method,n,acc_mean,acc_std")
    assert "*" in render(agg, "table")


def test_interrupted_grid_keeps_finished_cells_and_resumes(tmp_path):
    class Interrupting(Toy):
        calls = 0

        def fit_predict(self, data, n_clusters, seed):
            Interrupting.calls += 1
            if Interrupting.calls == 3:
                raise KeyboardInterrupt
            return super().fit_predict(data, n_clusters, seed)

    registry.methods().register("interrupting", Interrupting, replace_existing=True)
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    first = run_grid(plan(spec(methods=("interrupting",), repetitions=4)), tracker, show_progress=False)
    assert first.interrupted and first.counts["done"] == 2
    parent = tracker.client.get_run(first.parent_run_id)
    assert parent.info.status == "KILLED"
    second = run_grid(plan(spec(methods=("interrupting",), repetitions=4)), tracker, show_progress=False)
    assert second.skipped_done == 2 and second.counts["done"] == 2 and len(tracker.cell_runs()) == 4


def test_labels_and_groups_shape_paper_style_tables(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    entries = [
        Entry("km_concat", {"n_init": 1}, label="KM (concat)", group="Concatenation"),
        Entry("toy", {"epochs": [1, 2]}, label="Toy", group="Toys"),
    ]
    run_grid(
        plan(GridSpec(methods=entries, datasets=[Entry("synthetic", {"n_samples": 90})], repetitions=1)),
        tracker,
        show_progress=False,
    )
    agg = aggregate(runs_frame(tracker))
    assert list(agg["method"]) == ["KM (concat)", "Toy(epochs=1)", "Toy(epochs=2)"]
    md = render(agg, "markdown").splitlines()
    assert md[4].startswith("| *Concatenation* |") and md[5].startswith("| KM (concat) |")
    assert md[6].startswith("| *Toys* |") and md[7].startswith("| Toy(epochs=1) |")
    assert r"\multicolumn{4}{l}{\textit{Toys}}" in render(agg, "latex")


class ContextProbe(Method):
    """Records the run context the harness hands it, and runs a tracked loop."""

    seen: list = []

    def fit_predict(self, data, n_clusters, seed):
        steps = list(self.context.track(range(3), 3, "probe"))
        ContextProbe.seen.append(
            (self.context.data_seed, self.context.shared_seed(seed), seed, self.context.cache_dir, steps)
        )
        return FitResult(np.arange(data.n_samples) % n_clusters)


def test_methods_get_the_run_context_explicitly(tmp_path):
    registry.methods().register("probe", ContextProbe, replace_existing=True)
    registry.methods().register("probe2", type("ContextProbe2", (ContextProbe,), {}), replace_existing=True)
    ContextProbe.seen = []
    paths = DataPaths(tmp_path / "data", tmp_path / "raw", tmp_path / "cache")
    grid = plan(spec(methods=("probe", "probe2"), repetitions=2), paths)
    run_grid(grid, Tracker(sqlite_store(tmp_path / "m.db"), "e"), show_progress=False)
    assert len(ContextProbe.seen) == 4
    for data_seed, shared, seed, cache_dir, steps in ContextProbe.seen:
        assert shared == data_seed != seed and cache_dir == tmp_path / "cache" and steps == [0, 1, 2]
    # one shared seed per repetition, whatever the method; the methods' own seeds differ
    by_rep = {}
    for cell, seen in zip(grid.cells, ContextProbe.seen):
        by_rep.setdefault(cell.repetition, set()).add(seen[0])
    assert all(len(s) == 1 for s in by_rep.values()) and len({s.pop() for s in by_rep.values()}) == 2
    assert len({seen[2] for seen in ContextProbe.seen}) == 4
    # a method used alone has no shared seed and no cache
    assert ContextProbe().context == RunContext()


def test_a_changed_method_reruns_and_the_table_counts_only_its_new_runs(tmp_path):
    tracker = Tracker(sqlite_store(tmp_path / "m.db"), "e")
    run_grid(plan(spec()), tracker, show_progress=False)

    class ToyEdited(Toy):  # another code identity, as after an edit of the method's module
        version = "2"

    registry.methods().register("toy", ToyEdited, replace_existing=True)
    outcome = run_grid(plan(spec()), tracker, show_progress=False)
    assert outcome.counts["done"] == 2  # re-run, not skipped
    assert len(tracker.cell_runs()) == 4  # the old runs are kept in the store
    frame = runs_frame(tracker)
    assert len(frame) == 2 and frame.attrs["superseded"] == 2
    assert aggregate(frame, ["acc"])["n"].tolist() == [2]  # never old and new code averaged together
