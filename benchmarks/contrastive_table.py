"""The contrastive family's table: last epoch, oracle best epoch and the reported figures side by side.

For every finished cell of the given experiments or run records: the final labels' ACC / NMI (the
method's result: its last epoch), the *oracle* epoch (the epoch of highest ACC of the per-epoch labels,
``oracle/*_best_epoch``, which the harness computes afterwards from labels the method never saw) with
its ACC / NMI, ``fit_seconds`` and ``peak_memory_mb``. Per (method, dataset): mean ± std over
repetitions, the best repetition's last-epoch ACC (the "best seed" a one-seed figure may be), and the
figures of ``benchmarks/reported/*.yaml`` for the same method and dataset, with their selection rule.
A source is a store's experiment (``URI:EXPERIMENT``) or a ``mvbench report --format runs`` file
(``*.csv``, e.g. ``benchmarks/records/``), so the table outlives its store.

    python benchmarks/contrastive_table.py sqlite:///runs/synthetic3d.db:contrastive_synthetic3d \\
        benchmarks/records/contrastive_bdgp2v_session10.csv [--methods mflvc,gcfagg,cvcl,scmvc,km_concat]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from mvbench.record.tracking import Tracker
from mvbench.report.tables import records_frame, runs_frame

REPORTED = Path(__file__).parent / "reported"
COLUMNS = {
    "acc": "last_acc",
    "nmi": "last_nmi",
    "oracle/acc_best_epoch": "oracle_acc",
    "oracle/nmi_best_epoch": "oracle_nmi",
    "oracle/best_epoch": "oracle_epoch",
    "fit_seconds": "fit_seconds",
    "peak_memory_mb": "peak_memory_mb",
}


def cells(source: str, methods: set[str]) -> pd.DataFrame:
    """One row per finished cell of ``source`` (``URI:EXPERIMENT`` or a runs CSV): last-epoch and
    oracle-epoch ACC/NMI, costs."""
    if source.endswith(".csv"):
        frame = records_frame([source])
    else:
        uri, experiment = source.rsplit(":", 1)
        frame = runs_frame(Tracker(uri, experiment, create=False))
    if frame.empty:
        return frame
    frame = frame.assign(method=frame["param:method"], dataset=frame["param:dataset"])
    frame = frame[frame["method"].isin(methods)].reindex(columns=["method", "dataset", "repetition", *COLUMNS])
    return frame.rename(columns=COLUMNS)


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
    parser.add_argument("sources", nargs="+", help="URI:EXPERIMENT (the experiment after the last colon) or a runs CSV")
    parser.add_argument("--methods", default="mflvc,gcfagg,cvcl,scmvc,km_concat,jule,dxmc")
    parser.add_argument("--per-run", action="store_true", help="also print one row per cell")
    args = parser.parse_args()
    methods = set(args.methods.split(","))
    frames = [cells(source, methods) for source in args.sources]
    frame = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else None
    )
    if frame is None:
        raise SystemExit("no finished cells of these methods in these experiments")
    print(table(frame, reported()))
    if args.per_run:
        print()
        print(frame.sort_values(["method", "dataset", "repetition"]).to_string(index=False, float_format="%.3f"))


if __name__ == "__main__":
    main()
