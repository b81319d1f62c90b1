"""Per-epoch training curves (ACC of the current labels) of deep clustering cells, read from MLflow.

The runner logs ``train/acc`` per epoch for JECL and DEC when the dataset has labels (the labels go
to the logger only, never to the method). This script prints, per method row and dataset, the mean
ACC after the first and the last epoch and the mean number of epochs, and draws the mean curve
(± one std over seeds) per dataset as a PNG:

    python benchmarks/training_curves.py --experiment jecl_table --methods "JECL,DEC (concat)" -o curves.png
"""

from __future__ import annotations

import argparse

import pandas as pd

from mvbench.record.schema import STATUS_TAG
from mvbench.record.tracking import Tracker


def histories(tracker: Tracker, methods: list[str], metric: str) -> pd.DataFrame:
    """Rows (method, dataset, repetition, epoch, value) for every finished cell of ``methods``."""
    rows = []
    for run in tracker.latest_by_key().values():
        tags = run.data.tags
        method = tags.get("mvbench.method_label", run.data.params.get("method"))
        if tags.get(STATUS_TAG) != "done" or method not in methods:
            continue
        dataset = tags.get("mvbench.dataset_label", run.data.params.get("dataset"))
        for point in tracker.client.get_metric_history(run.info.run_id, metric):
            rows.append(
                {
                    "method": method,
                    "dataset": dataset,
                    "repetition": run.data.params.get("repetition"),
                    "epoch": point.step,
                    "value": point.value,
                }
            )
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean first-epoch and last-epoch value and mean epoch count per (method, dataset)."""
    per_run = frame.sort_values("epoch").groupby(["method", "dataset", "repetition"])["value"]
    runs = pd.DataFrame({"first": per_run.first(), "last": per_run.last(), "epochs": per_run.size()})
    return runs.groupby(["method", "dataset"]).agg(["mean", "std"]).round(3)


def draw(frame: pd.DataFrame, metric: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(frame["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.2 * len(datasets), 4.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for method, part in frame[frame["dataset"] == dataset].groupby("method", sort=False):
            # Runs stop at different epochs: a run that stopped keeps its last value afterwards.
            wide = part.pivot_table(index="epoch", columns="repetition", values="value").ffill()
            mean, std = wide.mean(axis=1), wide.std(axis=1).fillna(0.0)
            ax.plot(wide.index, mean, label=method)
            ax.fill_between(wide.index, mean - std, mean + std, alpha=0.2)
        ax.set_title(dataset)
        ax.set_xlabel("epoch of the clustering phase")
        ax.set_ylabel(f"{metric} (mean ± std over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--methods", required=True, help="comma-separated method labels as in the report")
    parser.add_argument("--metric", default="train/acc")
    parser.add_argument("-o", "--output", help="PNG path for the curves")
    args = parser.parse_args()
    frame = histories(
        Tracker(args.tracking_uri, args.experiment, create=False),
        [m.strip() for m in args.methods.split(",")],
        args.metric,
    )
    if frame.empty:
        raise SystemExit(f"no {args.metric!r} history for {args.methods!r} in experiment {args.experiment!r}")
    print(summary(frame).to_string())
    if args.output:
        draw(frame, args.metric, args.output)
        print(f"plot: {args.output}")


if __name__ == "__main__":
    main()
