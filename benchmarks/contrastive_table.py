"""The contrastive family's table: last epoch, oracle best epoch and the reported figures side by side.

For every finished cell of the given experiments: the final labels' ACC / NMI (the method's result: its
last epoch), the *oracle* epoch (the epoch of highest ``train/acc``, the ACC of the per-epoch labels;
computed here, afterwards, from the labels the method never saw) with its ACC / NMI, ``fit_seconds``
and ``peak_memory_mb``. Per (method, dataset): mean ± std over repetitions, the best repetition's
last-epoch ACC (the "best seed" a one-seed figure may be), and the figures of
``benchmarks/reported/*.yaml`` for the same method and dataset, with their selection rule.

    python benchmarks/contrastive_table.py sqlite:///runs/synthetic3d.db:contrastive_synthetic3d \\
        sqlite:///runs/bdgp2v.db:contrastive_bdgp2v [--methods mflvc,gcfagg,cvcl,scmvc,km_concat]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from mvbench.record.schema import STATUS_TAG
from mvbench.record.tracking import Tracker

REPORTED = Path(__file__).parent / "reported"


def cells(uri: str, experiment: str, methods: set[str]) -> pd.DataFrame:
    """One row per finished cell: last-epoch and oracle-epoch ACC/NMI, costs."""
    tracker = Tracker(uri, experiment, create=False)
    rows = []
    for run in tracker.latest_by_key().values():
        tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
        method = params.get("method")
        if tags.get(STATUS_TAG) != "done" or method not in methods:
            continue
        acc = [
            p.value
            for p in sorted(tracker.client.get_metric_history(run.info.run_id, "train/acc"), key=lambda p: p.step)
        ]
        nmi = [
            p.value
            for p in sorted(tracker.client.get_metric_history(run.info.run_id, "train/nmi"), key=lambda p: p.step)
        ]
        best = int(np.argmax(acc)) if acc else None
        rows.append(
            {
                "method": method,
                "dataset": params.get("dataset"),
                "repetition": params.get("repetition"),
                "last_acc": metrics["acc"],
                "last_nmi": metrics["nmi"],
                "oracle_acc": acc[best] if best is not None else np.nan,
                "oracle_nmi": nmi[best] if best is not None else np.nan,
                "oracle_epoch": best if best is not None else np.nan,
                "epochs_read": len(acc),
                "fit_seconds": metrics.get("fit_seconds", np.nan),
                "peak_memory_mb": metrics.get("peak_memory_mb", np.nan),
            }
        )
    return pd.DataFrame(rows)


def reported() -> pd.DataFrame:
    rows = []
    for path in sorted(REPORTED.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        for e in doc["entries"]:
            if e.get("missing_rate", 0.0) == 0.0 and e["metric"] in ("acc", "nmi"):
                rows.append({**e, "source": doc["source"]})
    return pd.DataFrame(rows)


def pm(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "-"
    return f"{values.mean():.3f}" + (f" ± {values.std():.3f}" if len(values) > 1 else "")


def table(frame: pd.DataFrame, claims: pd.DataFrame) -> str:
    head = (
        "| method | dataset | runs | last ACC | last NMI | oracle ACC | oracle NMI | best run, last ACC "
        "| reported ACC / NMI (source, selection) | fit s | peak MB |"
    )
    lines = [head, "|" + "---|" * 11]
    for (method, dataset), part in frame.groupby(["method", "dataset"], sort=True):
        said = []
        if not claims.empty:
            mine = claims[(claims["method"] == method) & (claims["dataset"] == dataset)]
            for source, group in mine.groupby("source"):
                vals = {r["metric"]: r["value"] for _, r in group.iterrows()}
                rule = "+".join(group.iloc[0]["selection"])
                said.append(f"{vals.get('acc', '-')} / {vals.get('nmi', '-')} ({source}, {rule})")
        lines.append(
            f"| {method} | {dataset} | {len(part)} | {pm(part['last_acc'])} | {pm(part['last_nmi'])} "
            f"| {pm(part['oracle_acc'])} | {pm(part['oracle_nmi'])} | {part['last_acc'].max():.3f} "
            f"| {'; '.join(said) or '-'} | {part['fit_seconds'].mean():.0f} | {part['peak_memory_mb'].mean():.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="+", help="URI:EXPERIMENT (the experiment after the last colon)")
    parser.add_argument("--methods", default="mflvc,gcfagg,cvcl,scmvc,km_concat,jule,dxmc")
    parser.add_argument("--per-run", action="store_true", help="also print one row per cell")
    args = parser.parse_args()
    methods = set(args.methods.split(","))
    frames = [cells(*store.rsplit(":", 1), methods) for store in args.stores]
    frame = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    )
    if frame is None:
        raise SystemExit("no finished cells of these methods in these experiments")
    print(table(frame, reported()))
    if args.per_run:
        print()
        print(frame.sort_values(["method", "dataset", "repetition"]).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
