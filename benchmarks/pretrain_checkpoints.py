"""Choose how DEC/JECL keep a fine-tuning checkpoint of their autoencoders, on development sets only.

For each development set (by default ``SCHEDULE_DEVELOPMENT_SETS``; the evaluation sets of issue 14 are
refused), each of its first two views and seeds 0..S-1, it trains the autoencoder exactly as
``methods/autoencoder.py`` does (z-scored view, ``--layer-epochs`` per layer, seed 1000 + s),
fine-tunes ``--epochs`` epochs, and at every ``--every``-th epoch partitions the embedding with
K-means: the best of ``CHECKPOINT_KMEANS_N_INIT`` single runs seeded 1000 + s + r, which the
restart-stability rule needs (the method's consensus option lets scikit-learn draw the restarts'
seeds, so its partitions, and picks, can differ from these). Each checkpoint records its partition,
internal indices (silhouette, Calinski-Harabasz, Davies-Bouldin, restart stability) and, for this
analysis only, ACC against the labels. Then every rule picks one checkpoint per run
without labels, and its ACC is compared, paired per run, with the pre-issue-14 schedule (the
checkpoint at epoch 30 is exactly the old 10 + 30 autoencoder):

- ``epoch30``: the old fixed length; ``epochH``: a longer fixed length H;
- ``silhouette``, ``calinski``, ``davies``: the best internal index; ``stability``: the highest mean
  ARI between the K-means restarts;
- ``consensus@H``: the checkpoint, among those up to epoch H, whose partition has the highest mean
  ARI to the others (:func:`mvbench.methods.autoencoder.consensus_checkpoint`);
- ``oracle``: the best ACC (uses labels; an upper bound, not a rule).

    MVBENCH_RAW_DIR=/work/shared/data python benchmarks/pretrain_checkpoints.py --seeds 3 --workers 2 \\
        --out checkpoints.jsonl
    python benchmarks/pretrain_checkpoints.py --summarize checkpoints.jsonl

``--diagnose`` admits the evaluation sets, to read how much any checkpoint rule could gain there
(the ``oracle`` column); nothing is chosen from such a run.

``--out`` keeps every checkpoint with its partition (megabytes); ``--summary-out`` writes one line per
run and rule (what ``benchmarks/pretrain_checkpoints_dev.jsonl`` holds).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from multiprocessing import get_context

import numpy as np

from mvbench.methods.autoencoder import SCHEDULE_DEVELOPMENT_SETS, SCHEDULE_EVALUATION_SETS

HORIZONS = (50, 100, 150, 200)


def run(args: tuple[str, int, int, int, int, int]) -> list[dict]:
    """Every checkpoint of one (set, view, seed) run."""
    name, view, seed, layer_epochs, epochs, every = args
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score

    from mvbench.data import store
    from mvbench.data.sources import DataPaths, prepare
    from mvbench.methods._views import prepare_view
    from mvbench.methods.autoencoder import (
        CHECKPOINT_KMEANS_N_INIT,
        PretrainSettings,
        embed,
        finetune,
        initial_model,
        pretrain_layers,
    )
    from mvbench.metrics import evaluate

    torch.set_num_threads(1)
    data = store.load(prepare(name, DataPaths.resolve()))
    k = len(np.unique(data.labels))
    x = torch.from_numpy(np.ascontiguousarray(prepare_view(data, view, "zscore"), dtype=np.float32))
    settings = PretrainSettings(layer_epochs=layer_epochs, finetune_epochs=epochs, checkpoint_every=every)
    pretrain_seed = 1000 + seed  # a fixed seed per repetition (a grid derives its own shared seed)
    gen = torch.Generator().manual_seed(pretrain_seed)
    model = initial_model([x.shape[1], *settings.hidden, settings.embedding_dim], pretrain_seed, torch.device("cpu"))
    start = time.perf_counter()
    pretrain_layers(model, x, settings, gen)
    rows: list[dict] = []

    def record(epoch: int) -> None:
        z = embed(model, x)
        restarts = [KMeans(k, n_init=1, random_state=pretrain_seed + r).fit(z) for r in range(CHECKPOINT_KMEANS_N_INIT)]
        labels = min(restarts, key=lambda km: km.inertia_).labels_
        stability = np.mean(
            [adjusted_rand_score(a.labels_, b.labels_) for i, a in enumerate(restarts) for b in restarts[i + 1 :]]
        )
        rows.append(
            {
                "set": name,
                "view": data.view_names[view],
                "seed": seed,
                "layer_epochs": layer_epochs,
                "epoch": epoch,
                "acc": evaluate(data.labels, labels)["acc"],
                "silhouette": float(silhouette_score(z, labels)),
                "calinski": float(calinski_harabasz_score(z, labels)),
                "davies": float(davies_bouldin_score(z, labels)),
                "stability": float(stability),
                "seconds": time.perf_counter() - start,
                "labels": labels.tolist(),
            }
        )

    finetune(model, x, settings, gen, epochs, range(0, epochs + 1, every), record)
    return rows


def rule_choices(checkpoints: list[dict]) -> dict[str, dict]:
    """The checkpoint each rule keeps in one run: {rule: {"epoch", "acc"}}."""
    from mvbench.methods.autoencoder import consensus_checkpoint

    checkpoints = sorted(checkpoints, key=lambda c: c["epoch"])
    epochs = [c["epoch"] for c in checkpoints]
    picks = {
        "epoch30": epochs.index(30),
        "silhouette": int(np.argmax([c["silhouette"] for c in checkpoints])),
        "calinski": int(np.argmax([c["calinski"] for c in checkpoints])),
        "davies": int(np.argmin([c["davies"] for c in checkpoints])),
        "oracle": int(np.argmax([c["acc"] for c in checkpoints])),
    }
    if all("stability" in c for c in checkpoints):  # recorded since the rule was added
        picks["stability"] = int(np.argmax([c["stability"] for c in checkpoints]))
    for horizon in HORIZONS:
        upto = [c for c in checkpoints if c["epoch"] <= horizon]
        if upto[-1]["epoch"] == horizon:
            picks[f"epoch{horizon}"] = len(upto) - 1
            picks[f"consensus@{horizon}"] = consensus_checkpoint([np.array(c["labels"]) for c in upto])[0]
    return {rule: {"epoch": epochs[i], "acc": checkpoints[i]["acc"]} for rule, i in picks.items()}


def summarize(choices: list[dict]) -> None:
    """Mean ACC per set/view and rule, and each rule's paired difference to ``epoch30``."""
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for c in choices:
        table[f"{c['set']}/{c['view']} L={c['layer_epochs']}"][c["rule"]].append(c["acc"])
    rules = list(dict.fromkeys(c["rule"] for c in choices))
    print("| set/view | " + " | ".join(rules) + " |")
    print("|---" * (len(rules) + 1) + "|")
    for key, per_rule in table.items():
        cells = [f"{np.mean(per_rule[r]):.3f}" if per_rule.get(r) else "–" for r in rules]
        print(f"| {key} | " + " | ".join(cells) + " |")
    by_run: dict[tuple, dict[str, float]] = defaultdict(dict)
    for c in choices:
        by_run[(c["set"], c["view"], c["seed"], c["layer_epochs"])][c["rule"]] = c["acc"]
    print()
    for rule in rules:
        diffs = np.array([run[rule] - run["epoch30"] for run in by_run.values() if rule in run])
        print(
            f"{rule:14s} mean ACC {np.mean([run[rule] for run in by_run.values() if rule in run]):.4f}  "
            f"vs epoch30 {diffs.mean():+.4f} (SE {diffs.std(ddof=1) / len(diffs) ** 0.5:.4f}), "
            f"better in {(diffs > 0).sum()}, worse in {(diffs < 0).sum()} of {len(diffs)} runs"
        )


def choices_of(checkpoints: list[dict]) -> list[dict]:
    runs: dict[tuple, list[dict]] = defaultdict(list)
    for c in checkpoints:
        runs[(c["set"], c["view"], c["seed"], c.get("layer_epochs", 10))].append(c)
    return [
        {"set": s, "view": v, "seed": seed, "layer_epochs": layer, "rule": rule, **pick}
        for (s, v, seed, layer), run_checkpoints in sorted(runs.items())
        for rule, pick in rule_choices(run_checkpoints).items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default=",".join(SCHEDULE_DEVELOPMENT_SETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--layer-epochs", default="10", help="layer-wise epochs, comma-separated to compare")
    parser.add_argument("--epochs", type=int, default=200, help="fine-tuning epochs read")
    parser.add_argument("--every", type=int, default=5, help="epochs between checkpoints")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="write every checkpoint (with its partition) as JSON lines")
    parser.add_argument("--summary-out", help="write each run's pick per rule as JSON lines")
    parser.add_argument(
        "--diagnose", action="store_true", help="allow evaluation sets: to read their headroom, never to choose"
    )
    parser.add_argument("--summarize", nargs="+", help="only summarise files written by --out or --summary-out")
    args = parser.parse_args()
    if args.summarize:
        lines = [json.loads(line) for path in args.summarize for line in open(path)]
        choices = [line for line in lines if "rule" in line] or choices_of(lines)
        summarize(choices)
        return
    sets = args.sets.split(",")
    if SCHEDULE_EVALUATION_SETS & set(sets) and not args.diagnose:
        parser.error(f"{sorted(SCHEDULE_EVALUATION_SETS & set(sets))} are evaluation sets: choose on other data")
    tasks = [
        (s, v, seed, int(layer), args.epochs, args.every)
        for layer in args.layer_epochs.split(",")
        for s in sets
        for v in (0, 1)
        for seed in range(args.seeds)
    ]
    checkpoints: list[dict] = []
    with get_context("spawn").Pool(args.workers) as pool:
        for rows in pool.imap_unordered(run, tasks):
            checkpoints.extend(rows)
            print(f"{rows[0]['set']}/{rows[0]['view']} seed {rows[0]['seed']}: {rows[-1]['seconds']:.0f} s", flush=True)
            if args.out:
                with open(args.out, "a") as out:
                    out.writelines(json.dumps(r) + "\n" for r in rows)
    choices = choices_of(checkpoints)
    if args.summary_out:
        with open(args.summary_out, "w") as out:
            out.writelines(json.dumps(c) + "\n" for c in choices)
    summarize(choices)


if __name__ == "__main__":
    main()
