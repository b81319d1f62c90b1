"""DCP on Scene-15: the reference code's own runs against mvbench's ``dcp`` cells, as two samples.

The reference code is not part of mvbench (no licence): ``--reference-dir`` holds a checkout of
XLearning-SCU/2022-TPAMI-DCP with its ``data/Scene-15.mat``, ``munkres`` importable (the package, or a
stand-in giving the same optimal assignment through ``scipy.optimize.linear_sum_assignment``), and one
patch, which changes no computation: ``run_clustering.py``'s loop over data seeds starts at
``int(os.environ.get('FIRST_SEED', 1))`` instead of 1, so that one process runs one seed. Seed ``s``
runs as ``FIRST_SEED=s python run_clustering.py --dataset 1 --missing_rate R --test_time s`` under
``--threads`` BLAS/OpenMP threads; its log goes to ``--log-dir/r{R}_seed{s}.log``, and a seed whose log
already holds a final result is not run again (the script resumes). A seed's result is the
``trainingset_view_concat`` K-means line printed after the last epoch (``Epoch : E/E``). At r = 0 the
reference seeds its model with the data seed; at r > 0 with its config's fixed seed (the data seed
draws the mask only).

mvbench's side is every finished ``dcp`` cell on ``scene15`` at the same missing rate in the given
stores (``URI:EXPERIMENT``; a cell key found in several stores counts once). The script prints both
samples, their means with the population std (``np.std``, as the DCP paper's sheet) and the sample
std, and for ACC and NMI Welch's t-test and the two-sided Mann–Whitney U test. First it checks that
both sides cluster the same data: the two views ``dcp`` receives from the harness (``scene15``, views
0 + 1, ``normalization=none``) against the reference loader's arrays (``X[0][v].astype('float32')`` of
its ``data/Scene_15.mat``), and the labels, printing the largest difference.

    python benchmarks/dcp_reference.py --reference-dir /work/scratch/s6/dcpref/ref \\
        --store sqlite:////work/scratch/s2/deep/dcp_r0_extra.db:dcp_scene15_deep \\
        [--seeds 1-5] [--missing-rate 0] [--threads 1] [--log-dir DIR] [--no-run]

Results and the commands that produced them: ``benchmarks/results.md`` §7.1.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.io
from scipy import stats

from mvbench.data import sources, store
from mvbench.data.preprocessing import normalize_view
from mvbench.record.schema import STATUS_TAG, cell_key
from mvbench.record.tracking import Tracker

LAST_EPOCH = re.compile(r"Epoch : (\d+)/(\d+)")
RESULT = re.compile(r"trainingset_view_concat (\{.*\})")


def seed_range(text: str) -> list[int]:
    """``"1-5"`` or ``"1,3,7"`` (or a mix) as a sorted list of seeds."""
    seeds: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.update(range(int(first), int(last or first) + 1))
    return sorted(seeds)


def final_result(log: Path) -> tuple[float, float] | None:
    """ACC and NMI of the K-means line after the last epoch of a reference log; None while unfinished."""
    if not log.exists():
        return None
    finished = False
    for line in log.read_text(errors="replace").splitlines():
        if (epoch := LAST_EPOCH.search(line)) is not None:
            finished = epoch.group(1) == epoch.group(2)
        elif finished and (found := RESULT.search(line)) is not None:
            scores = ast.literal_eval(re.sub(r"np\.float64\(([^)]*)\)", r"\1", found.group(1)))["kmeans"]
            return float(scores["accuracy"]), float(scores["NMI"])
    return None


def check_input(reference_dir: Path) -> None:
    """Print the largest difference between the harness's scene15 views 0 + 1 (as ``dcp`` gets them) and
    the reference loader's arrays, and whether the labels agree up to the reference's 1-based offset."""
    data = store.load(sources.prepare("scene15", sources.DataPaths.resolve(), {}), lazy=False)
    mat = scipy.io.loadmat(reference_dir / "data" / "Scene_15.mat")
    diffs = []
    for v in (0, 1):
        ours = normalize_view(data.view(v), "none", data.mask[:, v])
        theirs = mat["X"][0][v].astype("float32")
        diffs.append(float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else float("inf"))
    y = np.squeeze(mat["Y"])
    same_labels = np.array_equal(np.asarray(data.labels), y - y.min())
    print(f"input: views 0 + 1 differ by at most {max(diffs):g}; labels {'equal' if same_labels else 'DIFFER'}")


def run_reference(reference_dir: Path, seed: int, missing_rate: float, threads: int, log: Path) -> None:
    """One data seed of the reference script, its output (stdout and stderr) to ``log``."""
    env = dict(os.environ, FIRST_SEED=str(seed))
    env.update({name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")})
    command = [
        sys.executable,
        "run_clustering.py",
        "--dataset",
        "1",
        "--missing_rate",
        str(missing_rate),
        "--test_time",
        str(seed),
        "--print_num",
        "50",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run(command, cwd=reference_dir, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)


def store_sample(stores: list[str], missing_rate: float) -> dict[str, tuple[float, float]]:
    """ACC and NMI of every finished ``dcp`` cell on scene15 at ``missing_rate``, by cell key."""
    sample: dict[str, tuple[float, float]] = {}
    for location in stores:
        uri, _, experiment = location.rpartition(":")
        for run in Tracker(uri, experiment, create=False).latest_by_key().values():
            params, metrics = run.data.params, run.data.metrics
            if (
                run.data.tags.get(STATUS_TAG) == "done"
                and params.get("method") == "dcp"
                and params.get("dataset") == "scene15"
                and float(params.get("condition.missing_rate", "nan")) == missing_rate
            ):
                sample.setdefault(cell_key(run), (metrics["acc"], metrics["nmi"]))
    return sample


def describe(name: str, values: np.ndarray) -> str:
    return (
        f"  {name:<9} n={len(values):<2} mean {100 * values.mean():6.2f}  std {100 * values.std():5.2f} (np.std)"
        f"  {100 * values.std(ddof=1) if len(values) > 1 else float('nan'):5.2f} (sample)   "
        + " ".join(f"{100 * v:.2f}" for v in values)
    )


def compare(reference: np.ndarray, ours: np.ndarray, metric: str) -> None:
    print(f"{metric}:")
    print(describe("reference", reference))
    print(describe("mvbench", ours))
    if len(reference) < 2 or len(ours) < 2:
        print("  tests: need at least two runs a side")
        return
    welch = stats.ttest_ind(ours, reference, equal_var=False)
    ranks = stats.mannwhitneyu(ours, reference, alternative="two-sided")
    print(
        f"  mvbench - reference {100 * (ours.mean() - reference.mean()):+.2f} points;"
        f" Welch t = {welch.statistic:.2f}, p = {welch.pvalue:.3f};"
        f" Mann-Whitney U = {ranks.statistic:.0f}, p = {ranks.pvalue:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference-dir", type=Path, required=True, help="checkout of 2022-TPAMI-DCP (patched)")
    parser.add_argument("--store", action="append", required=True, help="URI:EXPERIMENT holding dcp cells")
    parser.add_argument("--seeds", type=seed_range, default=seed_range("1-5"), help="reference data seeds")
    parser.add_argument("--missing-rate", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--log-dir", type=Path, help="reference logs (default: REFERENCE_DIR/../mvbench_logs)")
    parser.add_argument("--no-run", action="store_true", help="only read the logs already written")
    args = parser.parse_args()
    log_dir = args.log_dir or args.reference_dir.resolve().parent / "mvbench_logs"
    check_input(args.reference_dir)

    reference = []
    for seed in args.seeds:
        log = log_dir / f"r{args.missing_rate:g}_seed{seed}.log"
        result = final_result(log)
        if result is None and not args.no_run:
            print(f"reference seed {seed}: running ({log})", flush=True)
            run_reference(args.reference_dir, seed, args.missing_rate, args.threads, log)
            result = final_result(log)
        if result is None:
            print(f"reference seed {seed}: no final result in {log}")
            continue
        reference.append(result)
    ours = list(store_sample(args.store, args.missing_rate).values())
    print(f"DCP, scene15, missing rate {args.missing_rate:g}: reference seeds {args.seeds} and mvbench's cells")
    for index, metric in enumerate(("ACC", "NMI")):
        compare(np.array([r[index] for r in reference]), np.array([o[index] for o in ours]), metric)


if __name__ == "__main__":
    main()
