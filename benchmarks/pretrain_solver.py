"""Compare whole pretraining schedules of DEC/JECL's autoencoder (solver and length) on development sets.

Issue 14's third attempt. For each set (the evaluation sets of issue 14 are refused), each of its first
two views, seeds 0..S-1 and each schedule below, it trains the autoencoder exactly as
``methods/autoencoder.py`` does (z-scored view, seed 1000 + s), keeps the last epoch, runs K-means
(K = the set's classes, 10 restarts, ``random_state`` s) on the embedding and records its ACC and NMI
against the labels, for this analysis only. ``--summarize`` prints each schedule's mean and its
difference to ``c10_30`` (today's default), paired per (set, view, seed), with the standard error.

Schedules (layer-wise + fine-tuning epochs, the last epoch kept):

- ``c10_30`` (today), ``c100_150``: Adam, lr 1e-3, constant;
- ``s10_30``, ``s100_150``: Adam, lr 1e-3, DEC's step policy (``lr_schedule="step"``);
- ``sgd10_30``, ``sgd100_150``: DEC's solver: SGD lr 0.1, momentum 0.9, step policy;
- ``i300``: a length in gradient steps, not epochs: 300 per layer and 900 of fine-tuning (the issue's best
  cub10 count per layer, with today's 1 : 3 ratio), converted to whole epochs at the set's n.

    MVBENCH_RAW_DIR=/work/shared/data python benchmarks/pretrain_solver.py --sets msrc_v1,orl,3sources \\
        --schedules c10_30,s10_30,sgd10_30,c100_150,s100_150,sgd100_150 --seeds 3 --out solver.jsonl
    python benchmarks/pretrain_solver.py --summarize solver.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections import defaultdict
from multiprocessing import get_context

import numpy as np

from mvbench.methods.autoencoder import SCHEDULE_DEVELOPMENT_SETS, SCHEDULE_EVALUATION_SETS

DEC_SOLVER = {"optimizer": "sgd", "lr": 0.1, "lr_schedule": "step"}
SCHEDULES: dict[str, dict] = {
    "c10_30": {"layer_epochs": 10, "finetune_epochs": 30},
    "s10_30": {"layer_epochs": 10, "finetune_epochs": 30, "lr_schedule": "step"},
    "sgd10_30": {"layer_epochs": 10, "finetune_epochs": 30, **DEC_SOLVER},
    "c100_150": {"layer_epochs": 100, "finetune_epochs": 150},
    "s100_150": {"layer_epochs": 100, "finetune_epochs": 150, "lr_schedule": "step"},
    "sgd100_150": {"layer_epochs": 100, "finetune_epochs": 150, **DEC_SOLVER},
    "i300": {"layer_steps": 300, "finetune_steps": 900},
}
BASELINE = "c10_30"


def settings_for(schedule: str, n: int):
    """The :class:`PretrainSettings` of ``schedule`` on ``n`` rows (step counts become whole epochs)."""
    from mvbench.methods.autoencoder import PretrainSettings

    spec = dict(SCHEDULES[schedule])
    batches = -(-n // PretrainSettings.batch_size)
    for stage in ("layer", "finetune"):
        if f"{stage}_steps" in spec:
            spec[f"{stage}_epochs"] = math.ceil(spec.pop(f"{stage}_steps") / batches)
    return PretrainSettings(**spec)


def run(args: tuple[str, int, int, str]) -> dict:
    """One (set, view, seed, schedule) autoencoder and the ACC of K-means on its embedding."""
    name, view, seed, schedule = args
    import torch
    from sklearn.cluster import KMeans

    from mvbench.data import store
    from mvbench.data.sources import DataPaths, prepare
    from mvbench.methods._views import prepare_view
    from mvbench.methods.autoencoder import embed, train_autoencoder
    from mvbench.metrics import evaluate

    torch.set_num_threads(1)
    data = store.load(prepare(name, DataPaths.resolve()))
    k = len(np.unique(data.labels))
    x = np.ascontiguousarray(prepare_view(data, view, "zscore"), dtype=np.float32)
    settings = settings_for(schedule, len(x))
    start = time.perf_counter()
    model, facts = train_autoencoder(x, [x.shape[1], *settings.hidden, settings.embedding_dim], settings, 1000 + seed)
    labels = KMeans(k, n_init=10, random_state=seed).fit(embed(model, torch.from_numpy(x))).labels_
    scores = evaluate(data.labels, labels)
    return {
        "set": name,
        "view": view,
        "seed": seed,
        "variant": schedule,
        "layer_epochs": settings.layer_epochs,
        "finetune_epochs": settings.finetune_epochs,
        "acc": scores["acc"],
        "nmi": scores["nmi"],
        "recon": facts["recon_mse"],
        "seconds": time.perf_counter() - start,
    }


def summarize(rows: list[dict]) -> None:
    """Per set/view means, then each schedule's paired difference to ``c10_30``."""
    acc: dict[tuple, dict[str, float]] = defaultdict(dict)
    for r in rows:
        acc[(r["set"], r["view"], r["seed"])][r["variant"]] = r["acc"]
    schedules = [s for s in SCHEDULES if any(s in run for run in acc.values())]
    print("| set / view | " + " | ".join(schedules) + " |")
    print("|---" * (len(schedules) + 1) + "|")
    for set_view in sorted({key[:2] for key in acc}):
        runs = [run for key, run in acc.items() if key[:2] == set_view]
        cells = [
            f"{np.mean([r[s] for r in runs if s in r]):.3f}" if any(s in r for r in runs) else "–" for s in schedules
        ]
        print(f"| {set_view[0]} / {set_view[1]} | " + " | ".join(cells) + " |")
    print()
    for s in schedules:
        paired = [(run[s], run[s] - run[BASELINE]) for run in acc.values() if s in run and BASELINE in run]
        values, diffs = np.array(paired).T
        se = diffs.std(ddof=1) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
        print(
            f"{s:11s} mean ACC {values.mean():.3f}  vs {BASELINE} {diffs.mean():+.3f} (SE {se:.3f}), "
            f"better in {(diffs > 0).sum()}, worse in {(diffs < 0).sum()} of {len(diffs)} runs"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default=",".join(SCHEDULE_DEVELOPMENT_SETS))
    parser.add_argument("--schedules", default=",".join(SCHEDULES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="append one JSON line per run")
    parser.add_argument("--summarize", nargs="+", help="only summarise files written by --out")
    args = parser.parse_args()
    if args.summarize:
        summarize([json.loads(line) for path in args.summarize for line in open(path)])
        return
    sets, schedules = args.sets.split(","), args.schedules.split(",")
    if SCHEDULE_EVALUATION_SETS & set(sets):
        parser.error(f"{sorted(SCHEDULE_EVALUATION_SETS & set(sets))} are evaluation sets: choose on other data")
    if unknown := set(schedules) - set(SCHEDULES):
        parser.error(f"unknown schedules {sorted(unknown)}: choose from {', '.join(SCHEDULES)}")
    tasks = [(n, v, seed, s) for s in schedules for n in sets for v in (0, 1) for seed in range(args.seeds)]
    rows = []
    with get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(run, tasks):
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as out:
                    out.write(json.dumps(row) + "\n")
    summarize(rows)


if __name__ == "__main__":
    main()
