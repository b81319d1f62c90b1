"""Choose the autoencoder-pretraining length of DEC/JECL on development sets (never the evaluated ones).

The first attempt of issue 14, kept to reproduce its record (benchmarks/results.md, section 1): a fixed
length, the last epoch kept (``pretrain_selection="last"``). The later attempts are
``benchmarks/pretrain_checkpoints.py`` (a checkpoint kept by a label-free rule) and
``benchmarks/pretrain_solver.py`` (DEC's step policy and solver, a length in gradient steps); none was
adopted.

For each development set, each candidate length E (epochs per layer; fine-tuning runs 3 E epochs,
the ratio of the old 10 + 30) and seeds 0..S-1 it fits JECL on the set's first two views and DEC on
each of those two views (DEC reuses JECL's cached autoencoders), and prints one JSON line per cell
(set, n, E, seed, method, ACC, NMI, seconds). The evaluation sets of issue 14 (cub10, wikipedia,
web_news, handwritten, digits) are refused, so their labels play no part.

Selection (:func:`choose`), over the cells run at every E: the mean ACC of each E; the best E*; for
every other E the paired differences ACC(E) - ACC(E*) (same set, method, seed) and their standard
error; the chosen E is the *shortest* whose mean difference is within one standard error of
E* (Breiman et al.'s one-standard-error rule: among settings the data cannot tell apart, the
cheapest, here also the one that memorises least).

    MVBENCH_RAW_DIR=/work/shared/data MVBENCH_DATA_DIR=/tmp/pt2/data nice -n 10 \
        python benchmarks/pretrain_schedule.py --sets msrc_v1,orl --epochs 10,30,100 --seeds 3 \
        --workers 2 > dev.log
    python benchmarks/pretrain_schedule.py --summarize dev.log     # the choice from logged cells
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from multiprocessing import get_context

from mvbench.methods.autoencoder import SCHEDULE_DEVELOPMENT_SETS, SCHEDULE_EVALUATION_SETS


def cell(args: tuple[str, int, int, str]) -> list[dict]:
    name, epochs, seed, cache = args
    from pathlib import Path

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from mvbench.data import store
    from mvbench.data.sources import DataPaths, prepare
    from mvbench.method import RunContext
    from mvbench.methods.dec import DEC
    from mvbench.methods.jecl import JECL
    from mvbench.metrics import evaluate

    data = store.load(prepare(name, DataPaths.resolve()))
    k = len(np.unique(data.labels))
    params = {
        "pretrain_layer_epochs": epochs,
        "pretrain_finetune_epochs": 3 * epochs,
        "pretrain_selection": "last",
        "device": "cpu",
    }
    context = RunContext(data_seed=1000 + seed, cache_dir=Path(cache))  # DEC reuses JECL's autoencoders
    rows = []
    for label, method in (
        ("jecl", JECL(**params, context=context)),
        ("dec_v0", DEC(view="0", **params, context=context)),
        ("dec_v1", DEC(view="1", **params, context=context)),
    ):
        start = time.perf_counter()
        result = method.fit_predict(data, k, seed)
        scores = evaluate(data.labels, result.labels)
        rows.append(
            {
                "set": name,
                "n": data.n_samples,
                "epochs": epochs,
                "seed": seed,
                "method": label,
                "acc": scores["acc"],
                "nmi": scores["nmi"],
                "seconds": time.perf_counter() - start,
            }
        )
    return rows


def choose(rows: list[dict]) -> tuple[int, dict[int, tuple[float, float, float]]]:
    """The chosen E and, per E, (mean ACC, mean paired difference to the best E, its standard error)."""
    acc: dict[int, dict[tuple, float]] = defaultdict(dict)
    for r in rows:
        acc[r["epochs"]][(r["set"], r["method"], r["seed"])] = r["acc"]
    common = sorted(set.intersection(*(set(cells) for cells in acc.values())))  # cells run at every E
    means = {e: sum(acc[e][c] for c in common) / len(common) for e in acc}
    best = max(means, key=means.get)
    table = {}
    for e in sorted(acc):
        diffs = [acc[e][c] - acc[best][c] for c in common]
        mean = sum(diffs) / len(diffs)
        sd = (sum((d - mean) ** 2 for d in diffs) / max(len(diffs) - 1, 1)) ** 0.5
        table[e] = (means[e], mean, sd / len(diffs) ** 0.5)
    chosen = min(e for e, (_, diff, se) in table.items() if diff >= -se)
    return chosen, table


def report(rows: list[dict]) -> None:
    chosen, table = choose(rows)
    for e, (mean, diff, se) in table.items():
        print(f"E = {e:4d}: mean ACC {mean:.4f}, paired difference to the best {diff:+.4f} (SE {se:.4f})")
    print("chosen E:", chosen)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default=",".join(SCHEDULE_DEVELOPMENT_SETS))
    parser.add_argument("--epochs", default="10,30,100")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="append the cells' JSON lines to this file too")
    parser.add_argument("--summarize", nargs="+", help="only report the choice from logged JSON lines")
    args = parser.parse_args()
    if args.summarize:
        rows = [json.loads(line) for path in args.summarize for line in open(path) if line.startswith("{")]
        report(rows)
        return
    sets = args.sets.split(",")
    if SCHEDULE_EVALUATION_SETS & set(sets):
        parser.error(f"{sorted(SCHEDULE_EVALUATION_SETS & set(sets))} are evaluation sets: choose on other data")
    cache = tempfile.mkdtemp(prefix="pretrain-schedule-")
    tasks = [(s, int(e), seed, cache) for s in sets for e in args.epochs.split(",") for seed in range(args.seeds)]
    rows = []
    with get_context("spawn").Pool(args.workers) as pool:
        for cells in pool.imap_unordered(cell, tasks):
            for row in cells:
                print(json.dumps(row), flush=True)
                if args.out:
                    with open(args.out, "a") as out:
                        out.write(json.dumps(row) + "\n")
            rows.extend(cells)
    report(rows)


if __name__ == "__main__":
    main()
