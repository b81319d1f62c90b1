"""Degenerate data: inputs on which a clustering score means nothing, found before anything runs.

Refused (one line, exit status 2): a view with no observed row, fewer than two classes, or no more
samples than classes (after a subsample): any partition scores ACC = NMI = ARI = 1 there, or a
method meets an empty view. Flagged (a warning): a view whose observed rows are all identical (zero
variance), which carries no information; methods that cluster that view alone refuse it (``km`` on
it, ``dec`` on it alone), see :func:`check_not_constant`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mvbench.data.model import DataValidationError, MultiViewDataset


def check_clusterable(mask: np.ndarray, labels: np.ndarray | None, view_names: Sequence[str]) -> None:
    """Raise :class:`DataValidationError` when the samples (their observed ``mask`` and ``labels``)
    cannot give a meaningful clustering score."""
    empty = [name for name, column in zip(view_names, np.asarray(mask, dtype=bool).T) if not column.any()]
    if empty:
        raise DataValidationError(
            f"view {empty[0]!r} has no observed row (every sample misses it): drop it "
            f"(e.g. --param NAME.views=[...]) or re-import without it"
        )
    if labels is None:
        return
    n, k = len(labels), len(np.unique(labels))
    if k < 2:
        raise DataValidationError(
            f"the labels hold {k} class{'' if k == 1 else 'es'}: clustering needs at least 2 (K >= 2)"
        )
    if n <= k:
        raise DataValidationError(
            f"{n} samples for K={k} classes: clustering needs more samples than classes (raise --subsample)"
        )


def constant_views(data: MultiViewDataset) -> list[str]:
    """Names of the views whose observed rows are all identical (zero variance in every feature).
    Computed once per dataset object (it reads the views)."""
    cached = getattr(data, "_constant_views", None)
    if cached is None:
        cached = []
        for v, name in enumerate(data.view_names):
            observed = data.mask[:, v]
            if observed.any():
                x = np.asarray(data.view(v))[observed]
                if np.all(x == x[0]):
                    cached.append(name)
        data._constant_views = cached  # type: ignore[attr-defined]
    return list(cached)


def check_not_constant(data: MultiViewDataset, views: Sequence[int], method: str) -> None:
    """Refuse a method that clusters ``views`` alone when all of them have zero variance: z-scoring
    (or any scaling) leaves every sample at one point, so its partition would be arbitrary."""
    constant = set(constant_views(data))
    names = [data.view_names[v] for v in views]
    if names and all(name in constant for name in names):
        raise DataValidationError(
            f"{method}: view {', '.join(names)} has zero variance (all observed rows identical), so there is "
            f"nothing to cluster: choose another view"
        )
