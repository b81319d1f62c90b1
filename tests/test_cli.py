"""The command line as a user runs it: exit codes, one-line errors, resume, reports."""

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mvbench.cli import main

PLUGIN = Path(__file__).parent / "plugins" / "mvbench-toy-plugin"


def mvbench_in_process(*args, check=None):
    """The CLI called in this process (for checks where a new interpreter adds nothing): (code, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main(list(args))
    code = exit_.value.code if isinstance(exit_.value.code, int) else 0
    if check is not None:
        assert code == check, out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def mvbench(*args, env=None, check=None):
    proc = subprocess.run(
        [sys.executable, "-m", "mvbench", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        # Not a speed limit (the default run took 10+ minutes on a machine at load 14-28): only a guard
        # that a hung command fails the test instead of the whole suite.
        timeout=3 * 3600,
    )
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def child_runs(db="mlflow.db", experiment="mvbench"):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{Path(db).resolve()}")  # absolute: MLflow caches stores by URI
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], "tags.`mvbench.kind` = 'cell'", max_results=5000)


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--methods", "nosuch"], "unknown method 'nosuch'; valid choices: "),
        (["run", "--datasets", "digitz"], "unknown dataset 'digitz' (did you mean 'digits'?)"),
        (["run", "--methods", "km", "--missing-rate", "1.0"], "missing rate 1.0 is outside [0, 1)"),
        (["run", "--methods", "km", "--missing-rate", "abc"], "--missing-rate takes numbers"),
        (["run", "--methods", "km", "--param", "km.nnit=3"], "unknown hyper-parameter 'nnit'"),
        (["run", "--config", "nope.yaml"], "config file nope.yaml does not exist"),
        (["run", "--methods", "km", "--tracking-uri", "nosuch://store"], "cannot use tracking URI 'nosuch://store'"),
        (["run", "--seeds", "0"], "Invalid value for '--seeds'"),
        (["run", "--methods", "km", "--seeds", "2", "--only-repetitions", "2"], "0 to 1 (seeds: 2); got [2]"),
        (["run", "--methods", "km", "--only-repetitions", "x"], "--only-repetitions takes whole numbers"),
        (["report", "--experiment", "never"], "no experiment named 'never'"),
        (["datasets", "validate", "missing.h5"], "missing.h5 does not exist"),
        # refused before anything is logged, instead of a traceback or a failed cell at run time:
        (["run", "--methods", "km", "--param", "km.n_init=[1,"], "cannot read the value '[1,'"),
        (
            ["run", "--methods", "km", "--datasets", "digits", "--param", "km.view=nosuchview"],
            "km(view=nosuchview) cannot run on dataset 'digits': unknown view 'nosuchview'",
        ),
        (
            ["run", "--methods", "jecl", "--datasets", "synthetic", "--param", "jecl.views=0"],
            "jecl(views=0) cannot run on dataset 'synthetic'",
        ),
        (
            ["run", "--methods", "dcca_km", "--datasets", "synthetic", "--param", "dcca_km.views=0,0"],
            "must name distinct views",
        ),
    ],
)
def test_usage_errors_are_one_line_with_exit_code_2(args, message):
    _, _, stderr = mvbench_in_process(*args, check=2)
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert "Traceback" not in stderr
    if args[0] == "run":
        assert not child_runs_exist()


def child_runs_exist():
    return Path("mlflow.db").exists() and len(child_runs()) > 0


def test_default_run_then_identical_rerun_logs_nothing_new():
    first = mvbench("run", "--no-progress", check=0)
    assert "km_concat" in first.stdout and "mvbench ui" in first.stdout
    n = len(child_runs())
    assert n == 2 * 2 * 2 * 5  # methods x datasets x missing rates x seeds
    second = mvbench("run", "--no-progress", check=0)
    assert len(child_runs()) == n and "already finished" in second.stderr
    status = mvbench("status", check=0)
    assert f"{n} done, 0 failed, 0 skipped, 0 missing" in status.stdout
    md = mvbench("report", "--format", "markdown", check=0).stdout
    assert "| method | digits ACC | digits NMI | digits ARI |" in md and "**" in md
    csv = mvbench("report", "--format", "csv", check=0).stdout
    assert csv.startswith("condition,dataset,group,method,n,")
    # one row per finished cell, whose means are the table's:
    runs = pd.read_csv(io.StringIO(mvbench("report", "--format", "runs", check=0).stdout))
    assert len(runs) == n and {"method", "dataset", "condition", "repetition", "acc", "nmi"} <= set(runs.columns)
    assert not [c for c in runs.columns if c.startswith("train/")]
    table = pd.read_csv(io.StringIO(csv)).set_index(["condition", "dataset", "method"])["acc_mean"]
    means = runs.groupby(["condition", "dataset", "method"])["acc"].mean()
    assert np.allclose(means.sort_index(), table.sort_index(), atol=5e-4)
    _, _, stderr = mvbench_in_process("report", "--format", "runs", "--significance", check=2)
    assert "drop --significance" in stderr and stderr.count("\n") == 1
    # --metrics picks the metric columns; the run's description and settings stay:
    chosen = pd.read_csv(io.StringIO(mvbench("report", "--format", "runs", "--metrics", "nmi", check=0).stdout))
    assert "nmi" in chosen and "acc" not in chosen and list(chosen["key"]) == list(runs["key"])
    _, _, stderr = mvbench_in_process("report", "--format", "runs", "--metrics", "bogus", check=2)
    assert "--metrics: bogus not logged" in stderr and stderr.count("\n") == 1
    # the record alone rebuilds the table; a cell recorded twice counts once:
    Path("runs.csv").write_text(mvbench("report", "--format", "runs", check=0).stdout)
    assert mvbench("report", "--records", "runs.csv", "--format", "csv", check=0).stdout == csv
    twice = mvbench("report", "--records", "runs.csv", "--records", "runs.csv", "--format", "csv", check=0)
    assert twice.stdout == csv and f"note: {n} finished cell(s) have a later run in these records" in twice.stderr
    Path("table.csv").write_text(csv)
    for args, message in (
        (["--records", "table.csv"], "table.csv is not a runs record (no column key, start, repetition)"),
        (["--records", "runs.csv", "--format", "html"], "--records reads the runs from files, without a store"),
    ):
        _, _, stderr = mvbench_in_process("report", *args, check=2)
        assert message in stderr and stderr.count("\n") == 1, stderr


def test_config_file_with_sweep_and_dataset_override(tmp_path):
    config = tmp_path / "grid.yaml"
    config.write_text(
        "experiment: sweep\nmethods:\n  - km: {n_init: [1, 2], view: profiles}\n"
        "datasets: [synthetic]\nconditions: {missing_rate: [0.0]}\nseeds: 1\n"
    )
    proc = mvbench("run", "--config", str(config), "--datasets", "digits", "--no-progress", check=0)
    runs = child_runs(experiment="sweep")
    assert {r.data.params["method.n_init"] for r in runs} == {"1", "2"}
    assert {r.data.params["dataset"] for r in runs} == {"digits"}
    assert "km(n_init=1, view=profiles)" in proc.stdout


def test_datasets_commands(tmp_path):
    mvbench("datasets", "prepare", "digits", check=0)
    listing = mvbench("datasets", "list", check=0).stdout
    assert any(line.split()[:5] == ["digits", "1797", "4", "10", "yes"] for line in listing.splitlines())
    path = Path(os.environ["MVBENCH_DATA_DIR"]) / "digits.h5"
    assert "valid (schema 1, n=1797, views=4, K=10" in mvbench("datasets", "validate", str(path), check=0).stdout
    assert "feature_extractors" in mvbench("datasets", "info", "digits", check=0).stdout


def test_third_party_plugin_registered_only_by_entry_point(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
    )
    env = {"PYTHONPATH": str(target)}
    listing = mvbench("list", "methods", env=env, check=0).stdout
    assert "toy_quantiles" in listing
    assert "toy_broken" in listing and "BROKEN  ModuleNotFoundError" in listing
    assert "km_concat" in listing  # a broken plugin does not break the others
    proc = mvbench(
        "run",
        "--methods",
        "toy_quantiles",
        "--datasets",
        "synthetic",
        "--seeds",
        "1",
        "--no-progress",
        env=env,
        check=0,
    )
    assert "toy_quantiles" in proc.stdout and len(child_runs()) == 1
    broken = mvbench("run", "--methods", "toy_broken", "--datasets", "synthetic", env=env, check=2)
    assert broken.stderr.count("\n") == 1 and "is broken: ModuleNotFoundError" in broken.stderr


@pytest.mark.parametrize(
    "grid, message",
    [
        ("methods: [km]\ndatasets: [synthetic]\nconditions: {subsample: abc}\n", "subsample must be a number"),
        # half the samples already miss a view: 90% more cannot each lose one of two views
        (
            "methods: [km]\ndatasets:\n  - synthetic: {view_dims: [4, 6], missing_rate: 0.5}\n"
            "conditions: {missing_rate: 0.9}\n",
            "condition miss=0.9: missing rate 0.9 needs 540 samples",
        ),
    ],
)
def test_a_bad_condition_in_a_config_is_one_line(tmp_path, grid, message):
    config = tmp_path / "grid.yaml"
    config.write_text(grid)
    _, _, stderr = mvbench_in_process("run", "--config", str(config), check=2)
    assert stderr.count("\n") == 1 and message in stderr, stderr
    assert not child_runs_exist()


def test_param_reaches_every_entry_of_its_method_labelled_or_not():
    from mvbench.cli import apply_param

    config = {
        "methods": [
            "km",
            {"name": "dec", "params": {"view": "image"}, "label": "DEC (image)"},
            {"name": "dec", "params": {"view": "text"}, "label": "DEC (text)"},
            {"km_concat": {"n_init": 2}},
        ],
        "datasets": ["synthetic"],
    }
    apply_param(config, "dec.max_epochs=3")
    apply_param(config, "km_concat.n_init=[1,5]")
    assert config["methods"][1] == {"name": "dec", "params": {"view": "image", "max_epochs": 3}, "label": "DEC (image)"}
    assert config["methods"][2]["params"] == {"view": "text", "max_epochs": 3} and config["methods"][0] == "km"
    assert config["methods"][3] == {"km_concat": {"n_init": [1, 5]}}
