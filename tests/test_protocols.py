"""Published protocols: the three missing-view protocols, model seeds, mask records, pinned dataset
variants, the oracle and label-free selection tracks, and reported figures beside reproduced ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import yaml
from click.testing import CliRunner
from conftest import RAW_DIR, blobs, needs_raw

from mvbench import registry
from mvbench.cli import cli
from mvbench.data import store
from mvbench.data.conditions import (
    Condition,
    ConditionError,
    missing_mask,
    missing_pairs_mask,
    missing_per_view_mask,
)
from mvbench.data.model import LabelsHiddenError
from mvbench.method import Capabilities, FitResult, Method
from mvbench.metrics import evaluate
from mvbench.record.tracking import Tracker
from mvbench.report.reported import RegistryError, compare, load_file, load_registry
from mvbench.report.selection import select
from mvbench.report.tables import runs_frame
from mvbench.run.grid import Entry, GridError, GridSpec, spec_from_config
from mvbench.run.planning import plan
from mvbench.run.runner import run_grid
from mvbench.run.scoring import mask_sha256

N = 20_000  # large n: the realised shares are checked against each protocol's definition exactly


# -- missing-view protocols ---------------------------------------------------------------------------
@pytest.mark.parametrize("views", [2, 3])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_paired_rate_is_the_share_of_incomplete_samples(views, rate):
    new = missing_mask(np.ones((N, views), bool), rate, None, seed=1)
    assert (~new.all(axis=1)).sum() == round(rate * N)
    assert (new.sum(axis=1) >= views - 1).all()  # an incomplete sample loses exactly one view


def test_paired_matches_dcp_get_mask_count_on_scene15_size():
    # DCP's get_mask keeps int(n * (1 - r)) samples complete: 4485 - 2242 = 2243 incomplete at 0.5;
    # paired makes round(0.5 * 4485) = 2242 incomplete (Python rounds half to even): one sample apart.
    n = 4485
    assert n - int(n * (1 - 0.5)) == 2243
    assert (~missing_mask(np.ones((n, 2), bool), 0.5, None, seed=0).all(axis=1)).sum() == 2242


@pytest.mark.parametrize("views", [2, 3])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.45])
def test_pairs_rate_is_the_share_of_sample_view_pairs(views, rate):
    mask = np.ones((N, views), bool)
    new = missing_pairs_mask(mask, rate, seed=2)
    assert (~new).sum() == int(np.floor(rate * N * views))
    assert new.any(axis=1).all()  # never a sample's last view
    per_view = (~new).sum(axis=0) / N  # pairs are drawn uniformly: every view loses about r
    assert np.allclose(per_view, rate, atol=0.02)
    lower = missing_pairs_mask(mask, rate / 2, seed=2)
    assert ((~lower) <= (~new)).all()  # nested across rates


def test_pairs_counts_only_observed_pairs_and_refuses_infeasible_rates():
    mask = np.ones((1000, 2), bool)
    mask[:400, 1] = False  # natural missingness: 1600 observed pairs, 600 removable
    new = missing_pairs_mask(mask, 0.3, seed=0)
    assert (mask & ~new).sum() == 480 and not new[:400, 1].any() and new[:400, 0].all()
    with pytest.raises(ConditionError, match="lower --missing-rate"):
        missing_pairs_mask(mask, 0.4, seed=0)  # 640 > 600


@pytest.mark.parametrize("views", [2, 3])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_per_view_rate_is_the_share_removed_from_each_view(views, rate):
    new = missing_per_view_mask(np.ones((N, views), bool), rate, seed=3)
    assert ((~new).sum(axis=0) == int(np.floor(rate * N))).all()  # exactly floor(r n) per view, after repair
    assert new.any(axis=1).all()  # the repair left no sample without a view


def test_per_view_refuses_a_rate_that_cannot_leave_every_sample_a_view():
    with pytest.raises(ConditionError, match="lower --missing-rate"):
        missing_per_view_mask(np.ones((1000, 2), bool), 0.6, seed=0)


def test_protocol_is_part_of_the_key_label_and_params_but_paired_keys_are_unchanged():
    assert Condition(0.3).key() == "missing_rate=0.3,missing_view=None,subsample=None"  # as before protocols
    pairs = Condition(0.3, missing_protocol="pairs")
    assert pairs.key() != Condition(0.3).key() and "pairs" in pairs.label()
    assert pairs.as_params()["missing_protocol"] == "pairs"
    with pytest.raises(ConditionError, match="paired protocol only"):
        Condition(0.3, "v1", missing_protocol="per_view")
    with pytest.raises(ConditionError, match="unknown missing protocol"):
        Condition(0.3, missing_protocol="bernoulli")
    data = blobs(n=300)
    a = pairs.apply(data, 0)
    assert (~a.mask).sum() == int(0.3 * 600) and not a.view(0)[~a.mask[:, 0]].any()


# -- model seeds and mask records ---------------------------------------------------------------------
class Spy(Method):
    """Clusters by the first view's argmax; tries to read the labels it is given; returns three
    per-epoch partitions (the middle one by the same rule, the others trivial)."""

    capabilities = Capabilities(handles_missing=True)
    seen: list = []

    def fit_predict(self, data, n_clusters, seed):
        try:
            data.labels  # noqa: B018 - the method must not be able to read them
            Spy.seen.append("read labels")
        except LabelsHiddenError:
            Spy.seen.append("hidden")
        good = np.argmax(data.view(0)[:, :n_clusters], axis=1)
        zeros = np.zeros(data.n_samples, dtype=int)
        rng = np.random.default_rng(seed)
        return FitResult(
            zeros,
            history=[{"loss": 3.0 + rng.random()}, {"loss": 2.0}, {"loss": 1.0 + rng.random()}],
            label_history=[zeros, good, zeros],
        )


class Peek(Method):
    """Returns a label history whose iteration reads the labels of the data it was given: the
    harness iterates it after the fit, when it scores the oracle."""

    capabilities = Capabilities(handles_missing=True)

    def fit_predict(self, data, n_clusters, seed):
        class History(list):
            def __iter__(inner):  # noqa: N805
                yield data.labels

        return FitResult(np.zeros(data.n_samples, dtype=int), label_history=History([0]))


@pytest.fixture(autouse=True)
def spies():
    registry.methods().register("spy", Spy, replace_existing=True)
    registry.methods().register("peek", Peek, replace_existing=True)
    Spy.seen = []
    yield
    registry._methods = None


def grid(tmp_path, methods=("spy",), **kw):
    spec = GridSpec(
        methods=[m if isinstance(m, Entry) else Entry(m) for m in methods],
        datasets=[Entry("synthetic", {"n_samples": 120})],
        repetitions=kw.pop("repetitions", 2),
        **kw,
    )
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "e")
    outcome = run_grid(plan(spec), tracker, show_progress=False)
    return tracker, outcome


def test_model_seeds_share_the_mask_of_their_repetition_and_vary_the_method_seed(tmp_path):
    config = {
        "methods": ["spy"],
        "datasets": [{"synthetic": {"n_samples": 120}}],
        "conditions": {"missing_rate": [0.3], "missing_protocol": ["paired", "per_view"]},
        "seeds": 2,
        "model_seeds": 3,
    }
    spec = spec_from_config(config)
    cells = plan(spec).cells
    assert len(cells) == 2 * 2 * 3 and len({c.key for c in cells}) == 12
    assert len({c.seed for c in cells}) == 12
    first = [c for c in cells if c.model_seed == 0]
    assert all("model_seed" not in c.describe() or c.describe()["model_seed"] == 0 for c in first)
    tracker, outcome = grid(tmp_path, missing_rates=[0.3], missing_protocols=["paired", "pairs"], model_seeds=2)
    assert outcome.counts["done"] == 2 * 2 * 2
    runs = tracker.cell_runs()
    masks: dict[tuple, set] = {}
    for run in runs:
        p = run.data.params
        masks.setdefault((p["condition.missing_protocol"], p["repetition"]), set()).add(
            run.data.tags["mvbench.mask_sha256"]
        )
        assert p["model_seed"] in ("0", "1")
    assert all(len(hashes) == 1 for hashes in masks.values())  # model seeds of a repetition: one mask
    assert len({next(iter(h)) for h in masks.values()}) == 4  # protocols and repetitions: different masks


def test_only_repetitions_plans_the_full_grids_cells_for_those_repetitions():
    config = {"methods": ["spy"], "datasets": [{"synthetic": {"n_samples": 120}}], "seeds": 5}
    config["conditions"] = {"missing_rate": [0.3]}
    full = {c.key: (c.repetition, c.seed) for c in plan(spec_from_config(config)).cells}
    part = plan(spec_from_config({**config, "only_repetitions": [4, 3]})).cells
    assert [c.repetition for c in part] == [3, 4]
    assert {c.key: (c.repetition, c.seed) for c in part} == {k: v for k, v in full.items() if v[0] in (3, 4)}
    for bad in ([5], [-1], [], ["1"], [True]):
        with pytest.raises(GridError, match=r"only_repetitions must name repetitions of the grid, 0 to 4"):
            spec_from_config({**config, "only_repetitions": bad})


def test_mask_artifact_holds_the_mask_the_method_saw(tmp_path):
    tracker, _ = grid(tmp_path, missing_rates=[0.4], missing_protocols=["pairs"], repetitions=1)
    (run,) = tracker.cell_runs()
    path = tracker.client.download_artifacts(run.info.run_id, "mask.csv", str(tmp_path))
    rows = Path(path).read_text().splitlines()
    assert rows[0].startswith("id,")
    mask = np.array([[c == "1" for c in row.split(",")[1:]] for row in rows[1:]])
    assert mask.shape == (120, 3) and (~mask).sum() == int(0.4 * 360)
    assert mask_sha256(mask) == run.data.tags["mvbench.mask_sha256"]


# -- the oracle and label-free tracks -----------------------------------------------------------------
def test_oracle_is_computed_by_the_harness_after_the_fit_and_the_method_never_sees_labels(tmp_path):
    tracker, outcome = grid(tmp_path, repetitions=1)
    assert Spy.seen == ["hidden"]
    (result,) = outcome.ran
    (run,) = tracker.cell_runs()
    m = run.data.metrics
    data = store.load(
        plan(GridSpec([Entry("spy")], [Entry("synthetic", {"n_samples": 120})])).tasks[result.cell.key].dataset_path
    )
    good = np.argmax(data.view(0)[:, : data.n_clusters], axis=1)
    expected = evaluate(data.labels, good)
    assert m["oracle/acc_best_epoch"] == pytest.approx(expected["acc"]) and m["oracle/best_epoch"] == 1
    assert m["oracle/nmi_best_epoch"] == pytest.approx(expected["nmi"])
    assert m["acc"] == pytest.approx(evaluate(data.labels, np.zeros(120, int))["acc"])  # the last epoch counts
    assert "internal/calinski_harabasz" not in m  # one cluster: no internal index


def test_a_method_cannot_reach_the_labels_through_its_data_while_the_oracle_is_computed(tmp_path):
    _, outcome = grid(tmp_path, methods=("peek",), repetitions=1)
    (result,) = outcome.ran
    assert result.status == "failed" and "LabelsHiddenError" in result.error


def test_tracks_for_a_deep_method_with_epochs_and_a_swept_method(tmp_path):
    dec = Entry("dec", {**registry.methods().get("dec").quick_params, "max_epochs": [4, 8], "view": "concat"})
    km = Entry("km_concat", {"normalization": ["zscore", "none"]})
    tracker, outcome = grid(tmp_path, methods=(dec, km), repetitions=2, model_seeds=2)
    assert outcome.counts["done"] == 2 * 2 * 2 + 2 * 2 * 2
    frame = runs_frame(tracker)
    deep = frame[frame["param:method"] == "dec"]
    assert deep["oracle/acc_best_epoch"].notna().all() and (deep["oracle/acc_best_epoch"] >= 0).all()
    assert frame["internal/silhouette"].notna().all() and frame["internal/calinski_harabasz"].notna().all()
    oracle = select(frame, "oracle")
    assert set(oracle["method"]) == {"dec", "km_concat"} and len(oracle) == 2
    for _, row in oracle.iterrows():  # the oracle picks the setting with the best mean ACC
        part = frame[frame["param:method"] == row["method"]]
        means = part.groupby("method")["acc"].mean()
        assert means[row["setting (oracle)"]] == means.max()
        assert row["setting gap [uses labels]"] == "+0.000"
    assert oracle.loc[oracle["method"] == "dec", "best-epoch ACC [uses labels]"].iloc[0] != "–"
    silhouette = select(frame, "silhouette")
    for _, row in silhouette.iterrows():  # the label-free pick: best mean silhouette, never the labels
        part = frame[frame["param:method"] == row["method"]]
        means = part.groupby("method")["internal/silhouette"].mean()
        assert means[row["setting (silhouette)"]] == means.max()
    min_loss = select(frame[frame["param:method"] == "dec"], "min_loss")
    assert len(min_loss) == 2 and (min_loss["n"] == 2).all()  # one model seed kept per repetition
    last = select(frame, "last")
    assert len(last) == 4 and (last["n"] == 4).all()
    runner = CliRunner()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(cli, ["report", "--experiment", "e", "--tracking-uri", uri, "--select", "oracle"])
    assert result.exit_code == 0, result.output
    assert "USES THE LABELS" in result.output and "oracle ACC [uses labels]" in result.output
    result = runner.invoke(cli, ["report", "--experiment", "e", "--tracking-uri", uri, "--select", "silhouette"])
    assert result.exit_code == 0 and "label-free" in result.output


# -- pinned dataset variants ----------------------------------------------------------------------------
def test_datasets_list_shows_the_pinned_hashes():
    result = CliRunner().invoke(cli, ["datasets", "list"])
    assert result.exit_code == 0
    for sha in (
        "ec33b5e1f53eea04ccacc8b7bdfc6091ed490b04214eb41fd83c05a0a173221f",  # scene15
        "0130ae9ce7d395543df841d25e84d99354dcb77993006d390d3c42d4c2e3f056",  # mnist_usps
        "dd53d29ad7cfd3adf4caf5203f51387b97981d60cd427798acfe1f2481363e11",  # bdgp2v
        "f5ebb44be9d98550877622b2f6eb4b70ff3dc9a1de3c3797bf3fad9ebb40ba9b",  # synthetic3d
    ):
        assert sha in result.output


@needs_raw("mat", "synthetic3d.mat")
def test_a_modified_file_is_refused_naming_both_hashes_unless_allowed_as_a_recorded_variant(tmp_path):
    from mvbench.data.download import sha256_file

    original = RAW_DIR / "mat" / "synthetic3d.mat"
    content = scipy.io.loadmat(original)
    content["X"][0, 0] = content["X"][0, 0] * 1.01  # one view nudged by 1 %
    variant = tmp_path / "raw" / "mat" / "synthetic3d.mat"
    variant.parent.mkdir(parents=True)
    scipy.io.savemat(variant, {k: v for k, v in content.items() if not k.startswith("__")})
    digest = sha256_file(variant)
    runner = CliRunner()
    result = runner.invoke(cli, ["datasets", "prepare", "synthetic3d", "--raw", str(variant)])
    message = str(result.exception)
    assert (
        result.exit_code != 0
        and digest in message
        and "f5ebb44be9d98550877622b2f6eb4b70ff3dc9a1de3c3797bf3fad9ebb40ba9b" in message
    )
    assert "\n" not in message and "--allow-variant" in message
    result = runner.invoke(cli, ["datasets", "prepare", "synthetic3d", "--raw", str(variant), "--allow-variant"])
    assert result.exit_code == 0, result.output
    card = store.load(tmp_path / "data" / "synthetic3d.h5").card
    assert card.extra["variant_sha256"] == digest and "VARIANT" in card.description
    args = ["run", "--methods", "km_concat", "--datasets", "synthetic3d", "--seeds", "1", "--no-progress"]
    result = runner.invoke(cli, args)
    assert result.exit_code != 0 and "variant" in str(result.exception) and digest in str(result.exception)
    result = runner.invoke(cli, [*args, "--allow-variant"])
    assert result.exit_code == 0, result.output
    (run,) = Tracker(None, "mvbench", create=False).cell_runs()
    assert run.data.tags["mvbench.dataset_variant"] == digest
    assert f"[variant {digest[:12]}]" in run.data.tags["mvbench.dataset_label"]
    shutil.rmtree(variant.parent)


# -- reported figures ---------------------------------------------------------------------------------
def test_the_registry_files_of_the_checkout_are_valid_and_hold_dcp_sheet_figures():
    entries = load_registry()
    dcp = {(e.method, e.missing_rate, e.metric): e for e in entries if e.source == "dcp_tpami2022_sheet"}
    assert len(dcp) == 5 * 9 * 3
    # the figures quoted in issue 24 (ACC / NMI in %), r = 0 and 0.5
    assert (dcp[("dcp", 0.0, "acc")].value, dcp[("dcp", 0.0, "acc")].std) == (0.4107, 0.0112)
    assert dcp[("dcp", 0.5, "nmi")].value == 0.4235 and dcp[("dcp", 0.5, "nmi")].origin == "own"
    assert (dcp[("pic", 0.5, "acc")].value, dcp[("pic", 0.5, "nmi")].value) == (0.387, 0.3798)
    assert (dcp[("daimc", 0.0, "acc")].value, dcp[("bmvc", 0.5, "acc")].value) == (0.3209, 0.3091)
    assert (dcp[("dcca_km", 0.5, "acc")].value, dcp[("dcca_km", 0.0, "nmi")].value) == (0.3183, 0.3892)
    assert dcp[("pic", 0.0, "acc")].origin == "third_party" and dcp[("pic", 0.0, "acc")].views == ("gist", "lbp")


GOOD = {
    "source": "s",
    "citation": "A paper",
    "where": "Table 1",
    "entries": [
        {
            "method": "km_concat",
            "dataset": "synthetic",
            "missing_rate": 0.3,
            "metric": "acc",
            "value": 0.5,
            "selection": ["mean_of_n"],
            "origin": "own",
        }
    ],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "other"}, "must equal the file name's stem"),
        ({"entries": []}, "non-empty list"),
        ({"extra": 1}, "top-level keys: unknown extra"),
        ({"entries": [{**GOOD["entries"][0], "value": 41.07}]}, r"write fractions \(0.4107, not 41.07\)"),
        ({"entries": [{**GOOD["entries"][0], "metric": "f1"}]}, "metric 'f1' is not one of"),
        ({"entries": [{**GOOD["entries"][0], "selection": ["best"]}]}, "selection"),
        ({"entries": [{**GOOD["entries"][0], "origin": "mine"}]}, "origin 'mine'"),
        ({"entries": [{**GOOD["entries"][0], "missing_protocol": "mcar"}]}, "missing_protocol 'mcar'"),
        ({"entries": [{**GOOD["entries"][0], "dataset_sha256": "abc"}]}, "64 lowercase hex"),
        ({"entries": [{**GOOD["entries"][0], "vlaue": 1}]}, "unknown key"),
        ({"entries": [{k: v for k, v in GOOD["entries"][0].items() if k != "origin"}]}, "missing origin"),
    ],
)
def test_malformed_registry_files_are_refused_in_one_line(tmp_path, change, message):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**GOOD, **change}))
    with pytest.raises(RegistryError, match=message) as info:
        load_file(path)
    assert "\n" not in str(info.value) and "s.yaml" in str(info.value)


def frame_of(protocol="paired", views="gist,lbp", rate=0.5, acc=(0.36, 0.38)):
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "method": "pic",
                "dataset": "scene15(views=gist,lbp)",
                "condition": "miss=0.5",
                "repetition": rep,
                "param:method": "pic",
                "param:dataset": "scene15",
                "param:dataset.views": views,
                "param:condition.missing_rate": str(rate),
                "param:condition.missing_view": "random",
                "param:condition.subsample": "1.0",
                "param:condition.missing_protocol": protocol,
                "dataset_variant": "",
                "acc": a,
            }
            for rep, a in enumerate(acc)
        ]
    )


def test_reported_figures_match_only_cells_of_the_same_protocol():
    entries = load_registry()
    same = compare(frame_of(), entries, ["acc"])
    (row,) = same.table.to_dict("records")
    assert row["reproduced"].startswith("0.370 ± 0.014") and "0.387 ± 0.012" in row["reported (third party)"]
    assert row["gap (third party)"] == "-0.017" and row["reported (own)"] == ""
    assert "mean_of_n" in row["reported (third party)"] and not same.not_matched
    other = compare(frame_of(protocol="pairs"), entries, ["acc"])
    assert other.table.empty and len(other.not_matched) == 1
    assert "not matched (protocol differs: missing protocol paired vs pairs)" in other.not_matched[0][2]
    views = compare(frame_of(views="phog,lbp"), entries, ["acc"])
    assert views.table.empty and "views gist+lbp vs phog+lbp" in views.not_matched[0][2]


def test_report_reported_through_the_cli_with_a_registry_folder(tmp_path):
    folder = tmp_path / "reg"
    folder.mkdir()
    entry = {**GOOD["entries"][0], "params": {"n_init": 3}, "std": 0.01, "runs": 5}
    (folder / "s.yaml").write_text(yaml.safe_dump({**GOOD, "entries": [entry, {**entry, "origin": "third_party"}]}))
    runner = CliRunner()
    args = ["--methods", "km_concat", "--datasets", "synthetic", "--missing-rate", "0.3", "--seeds", "2"]
    for protocol in ("paired", "pairs"):
        result = runner.invoke(
            cli, ["run", *args, "--param", "km_concat.n_init=3", "--missing-protocol", protocol, "--no-progress"]
        )
        assert result.exit_code == 0, result.output
    result = result_markdown = runner.invoke(
        cli, ["report", "--reported", "--reported-dir", str(folder), "--format", "markdown"]
    )
    assert result.exit_code == 0, result.output
    assert "0.500 ± 0.010 (5 runs; mean_of_n)" in result.output and "[s]" in result.output
    assert "not matched (protocol differs: missing protocol paired vs pairs)" in result.output
    out = tmp_path / "r.html"
    result = runner.invoke(
        cli, ["report", "--reported", "--reported-dir", str(folder), "--format", "html", "-o", str(out)]
    )
    assert result.exit_code == 0 and 'id="reported"' in out.read_text() and "protocol differs" in out.read_text()
    # the same comparison from the runs' record alone (the store set aside): settings match as text, as logged
    runs = tmp_path / "runs.csv"
    assert runner.invoke(cli, ["report", "--format", "runs", "-o", str(runs)]).exit_code == 0
    Path("mlflow.db").rename(tmp_path / "kept.db")
    from_records = runner.invoke(
        cli, ["report", "--records", str(runs), "--reported", "--reported-dir", str(folder), "--format", "markdown"]
    )
    assert from_records.exit_code == 0 and from_records.output == result_markdown.output
    Path(tmp_path / "kept.db").rename("mlflow.db")
    (folder / "bad.yaml").write_text("source: bad\n")
    result = runner.invoke(cli, ["report", "--reported", "--reported-dir", str(folder)])
    assert result.exit_code != 0 and "bad.yaml" in str(result.exception)


def test_protocol_presets_name_registered_methods_datasets_and_valid_settings():
    from mvbench.run.grid import expand_params, load_config, resolve_method

    presets = sorted((Path(__file__).resolve().parents[1] / "benchmarks" / "protocols").glob("*.yaml"))
    assert {p.stem for p in presets} >= {"dcp_scene15", "mflvc_family"}
    for path in presets:
        spec = spec_from_config(load_config(path))
        for entry in spec.methods:
            method_cls = registry.methods().get(entry.name)
            for params in expand_params(method_cls.Config, entry.params):
                resolve_method(entry.name, params, method_cls)
        assert all(d.name in registry.datasets().names() for d in spec.datasets)
        assert spec.conditions()
    dcp = spec_from_config(load_config(presets[0]))
    assert dcp.datasets[0].params == {"views": ["gist", "lbp"]} and dcp.repetitions == 5
    assert [c.missing_rate for c in dcp.conditions()] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
