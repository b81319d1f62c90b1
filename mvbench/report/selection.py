"""Selection tracks: which run or setting a table reports, by a rule that says whether it reads labels.

- ``last`` (the default and the honest one): every setting's last-epoch partition, mean ± std over
  its runs; nothing is selected.
- ``min_loss`` (DeepMVC's rule, label-free): per setting and repetition, the model seed with the
  lowest final training loss (``train/loss``); losses of different settings are not comparable,
  so it never chooses between settings.
- ``silhouette``, ``calinski_harabasz`` (label-free): per method, the setting with the highest
  mean internal index of its partitions, computed by the harness in one common space shared by
  every setting (:mod:`mvbench.run.scoring`).
- ``oracle`` (USES LABELS, flagged, never the default): per method, the setting with the best mean
  score against the labels, as papers that tune on labels do.

Every rule's table also shows, labelled as using the labels, the oracle setting and its score, the
gap to it, and the best-epoch score (``oracle/<metric>_best_epoch``, from ``label_history``) with
its gap to the last epoch: how far a label-free choice lands from what labels would pick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mvbench.record.schema import CURVE_PREFIX, INTERNAL_PREFIX, ORACLE_PREFIX, PARAM_PREFIX

RULES = ("last", "min_loss", "silhouette", "calinski_harabasz", "oracle")
USES_LABELS = {"oracle"}
LOSS = f"{CURVE_PREFIX}loss"
KEYS = ["condition", "dataset", "base"]


class SelectionError(ValueError):
    """A selection rule cannot be applied to these runs (one-line message)."""


def _summary(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return "–"
    std = float(values.std()) if len(values) > 1 else 0.0
    return f"{float(values.mean()):.3f} ± {std:.3f}"


def select(frame: pd.DataFrame, rule: str, metric: str = "acc") -> pd.DataFrame:
    """The table of rule ``rule`` on a runs frame (one row per method, or per setting for ``last``
    and ``min_loss``), scored by ``metric``."""
    if rule not in RULES:
        raise SelectionError(f"unknown selection rule {rule!r}: use one of {', '.join(RULES)}")
    if frame.empty:
        return pd.DataFrame()
    if metric not in frame:
        raise SelectionError(f"--select: metric {metric!r} is not logged in these runs")
    frame = frame.assign(base=frame.get(f"{PARAM_PREFIX}method", frame["method"]).fillna(frame["method"]))
    if rule == "min_loss":
        if LOSS not in frame or frame[LOSS].isna().all():
            raise SelectionError("--select min_loss: no run logged a training loss (train/loss)")
        frame = frame.dropna(subset=[LOSS])
        frame = frame.loc[frame.groupby([*KEYS, "method", "repetition"])[LOSS].idxmin()]
    by_setting = frame.groupby([*KEYS, "method"], sort=False)
    settings = by_setting[metric].mean().rename("score").reset_index()
    index = {"silhouette": f"{INTERNAL_PREFIX}silhouette", "calinski_harabasz": f"{INTERNAL_PREFIX}calinski_harabasz"}
    if rule in index:
        column = index[rule]
        if column not in frame or frame[column].isna().all():
            raise SelectionError(f"--select {rule}: no run logged {column} (runs older than selection tracks)")
        settings["criterion"] = by_setting[column].mean().to_numpy()
    elif rule == "oracle":
        settings["criterion"] = settings["score"]
    oracle = settings.loc[settings.groupby(KEYS, sort=False)["score"].idxmax()].set_index(KEYS)
    if "criterion" in settings:
        chosen = settings.loc[settings.dropna(subset=["criterion"]).groupby(KEYS, sort=False)["criterion"].idxmax()]
    else:
        chosen = settings
    epoch = f"{ORACLE_PREFIX}{metric}_best_epoch"
    label = f"{metric.upper()}"
    rows = []
    for _, pick in chosen.iterrows():
        runs = frame[(frame[KEYS + ["method"]] == pick[KEYS + ["method"]]).all(axis=1)]
        best = oracle.loc[tuple(pick[KEYS])]
        row = {
            "dataset": pick["dataset"],
            "condition": pick["condition"],
            "method": pick["base"],
            f"setting ({rule})": pick["method"],
            "n": len(runs),
            label: _summary(runs[metric]),
            "oracle setting [uses labels]": best["method"],
            f"oracle {label} [uses labels]": f"{best['score']:.3f}",
            "setting gap [uses labels]": f"{best['score'] - pick['score']:+.3f}",
        }
        if epoch in runs and runs[epoch].notna().any():
            row[f"best-epoch {label} [uses labels]"] = _summary(runs[epoch])
            row["epoch gap [uses labels]"] = f"{float((runs[epoch] - runs[metric]).mean()):+.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def render_selection(table: pd.DataFrame, rule: str, fmt: str = "table") -> str:
    """The selection table as text (``table``, ``markdown``, ``csv``, ``latex``), titled by its rule."""
    from mvbench.report.reported import markdown_table

    if fmt == "csv":
        return table.to_csv(index=False)
    flag = "USES THE LABELS to choose" if rule in USES_LABELS else "label-free choice"
    title = f"Selection rule {rule!r} ({flag}); columns marked [uses labels] read the labels"
    if table.empty:
        return f"{title}\nno finished runs to select from"
    table = table.fillna("–").replace({np.nan: "–"})
    if fmt == "markdown":
        return f"**{title}**\n\n{markdown_table(table)}"
    if fmt == "latex":
        return f"% {title}\n{table.to_latex(index=False)}"
    return f"{title}\n{table.to_string(index=False)}"
