import numpy as np
import pandas as pd
import pytest

from mvbench.report.plots import curve_frame, plot
from mvbench.report.significance import holm, summary
from mvbench.report.tables import aggregate, blocks


def frame():
    rows = []
    rng = np.random.default_rng(0)
    for dataset in ("a", "b", "c"):
        for rate in (0.0, 0.3):
            for rep in range(4):
                for method, base in (("good", 0.9), ("mid", 0.7), ("bad", 0.5)):
                    rows.append(
                        {
                            "dataset": dataset,
                            "condition": f"miss={rate}",
                            "repetition": rep,
                            "method": method,
                            "param:method": method,
                            "param:condition.missing_rate": str(rate),
                            "acc": base - rate / 3 + rng.normal(0, 0.01),
                        }
                    )
    return pd.DataFrame(rows)


def test_holm_adjustment_hand_computed():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_summary_ranks_and_tests():
    table, line = summary(frame())
    assert list(table.index) == ["good", "mid", "bad"]
    assert table["avg_rank"].tolist() == [1.0, 2.0, 3.0] and table["blocks_won"].tolist() == [6, 0, 0]
    assert (table["wilcoxon_p_vs_good"].iloc[1:] < 0.01).all()
    assert line.startswith("Friedman test over 6 dataset x condition blocks and 3 methods") and "p = " in line


def test_curves_and_png(tmp_path):
    curves = curve_frame(frame(), "missing_rate", "acc")
    assert len(curves) == 3 * 3 * 2 and set(curves["n"]) == {4}
    path = plot(frame(), "missing_rate", "acc", tmp_path / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no runs record 'lam'"):
        curve_frame(frame(), "lam", "acc")


def test_costs_mark_the_smallest_as_best():
    runs = pd.DataFrame(
        [
            {
                "dataset": "d",
                "condition": "",
                "group": "",
                "method": m,
                "start": i,
                "repetition": 0,
                "acc": acc,
                "fit_seconds": secs,
            }
            for i, (m, acc, secs) in enumerate((("fast", 0.6, 1.0), ("slow", 0.8, 9.0)))
        ]
    )
    _, _, rows = blocks(aggregate(runs, ["acc", "fit_seconds"]), ["acc", "fit_seconds"])[0]
    best = {row[0][0]: [b for _, b in row[1:]] for _, row in rows}
    assert best == {"fast": [False, True], "slow": [True, False]}
