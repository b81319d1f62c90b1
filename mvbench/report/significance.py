"""Evidence for "method A is best": average ranks, a Friedman test, paired Wilcoxon tests.

Blocks are (dataset, condition) pairs, scored by each method's mean over seeds; only blocks where
every method finished count. The Wilcoxon tests compare the best-ranked method with each other
method on paired seed-level scores (same dataset, condition and repetition, hence the same masks
and subsamples), with Holm's correction for the number of comparisons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mvbench.record.schema import DIRECTIONS, direction


def holm(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = np.argsort(pvalues)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted.tolist()


def summary(frame: pd.DataFrame, metric: str = "acc") -> tuple[pd.DataFrame, str]:
    """A per-method table (avg rank, mean score, blocks won, Holm-adjusted Wilcoxon p vs the best)
    and a one-line Friedman test result; rank 1 is the best by the metric's declared direction."""
    blocks = frame.pivot_table(index=["dataset", "condition"], columns="method", values=metric, aggfunc="mean")
    blocks = blocks.dropna(axis=0)
    methods = list(blocks.columns)
    if blocks.empty or len(methods) < 2:
        return pd.DataFrame(), "significance: needs at least two methods that finished on the same datasets"
    better = direction(metric)
    if better is None:
        raise ValueError(
            f"metric {metric!r} has no declared direction (better higher or lower): rank by one of "
            f"{', '.join(DIRECTIONS)}"
        )
    ranks = blocks.rank(axis=1, ascending=better == "lower", method="average")
    table = pd.DataFrame(
        {"avg_rank": ranks.mean(), f"mean_{metric}": blocks.mean(), "blocks_won": (ranks == 1).sum()}
    ).sort_values("avg_rank")
    best = table.index[0]
    paired = frame.pivot_table(index=["dataset", "condition", "repetition"], columns="method", values=metric)
    pvalues = {}
    for other in table.index[1:]:
        pair = paired[[best, other]].dropna()
        diff = pair[best] - pair[other]  # the sign does not matter to the two-sided test
        pvalues[other] = float(stats.wilcoxon(diff).pvalue) if len(pair) >= 6 and np.any(diff != 0) else np.nan
    tested = [m for m, p in pvalues.items() if not np.isnan(p)]
    adjusted = dict(zip(tested, holm([pvalues[m] for m in tested])))
    table[f"wilcoxon_p_vs_{best}"] = [np.nan] + [adjusted.get(m, np.nan) for m in table.index[1:]]
    if len(methods) >= 3 and len(blocks) >= 2:
        stat = stats.friedmanchisquare(*[blocks[m].to_numpy() for m in methods])
        line = (
            f"Friedman test over {len(blocks)} dataset x condition blocks and {len(methods)} methods: "
            f"chi2 = {stat.statistic:.2f}, p = {stat.pvalue:.3g}"
        )
    else:
        line = f"Friedman test: needs >= 3 methods and >= 2 blocks (have {len(methods)} and {len(blocks)})"
    return table, line
