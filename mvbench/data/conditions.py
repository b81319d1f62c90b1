"""Experimental conditions applied to a dataset before a method sees it, and seed derivation.

Semantics (recorded as params on every run):

- **Subsample** (``subsample``): per class, keep a fraction (0 < s <= 1) or a count (s > 1, an
  integer) of the samples, chosen at random; the kept samples of a smaller fraction are a subset of
  those of a larger one (one permutation per class, prefixes taken).
- **Missing views** (``missing_rate`` r in [0, 1)), by one of three published protocols
  (``missing_protocol``), each removing views on top of the dataset's natural missing views, never a
  sample's last view; removed rows are zeroed and flagged in the mask:

  - ``paired`` (the default; COMPLETER/DCP's ``utils/get_mask.py``): r is the share of incomplete
    samples. round(r * n) samples are drawn among those with at least two observed views (and, when
    ``missing_view`` names a view, with that view observed); each loses ``missing_view``, or, when
    it is ``None``, one of its observed views at random. Draws for a smaller rate are a subset of
    those for a larger rate.
  - ``pairs`` (PolyClustX's ``simulate_missing_views``): r is the share of observed sample-view pairs
    removed. floor(r * observed pairs) pairs are removed, scanning the observed pairs in a random
    order and skipping a pair whose sample has one view left. Nested across rates.
  - ``per_view`` (the IMC survey toolbox's ``splitDigitData.m``): r is the share removed from each
    view. In each view, the first floor(r * n) samples of a random permutation (of the samples that
    observe it) lose it; then, while a sample has no view left, one of its views, drawn at random,
    is restored and the next sample of that view's permutation loses it instead, so every view
    loses exactly floor(r * n) rows.

Every random choice derives from a hash of (dataset, condition kind, repetition) only — never from
the method — so all methods of a grid see identical masks and subsamples (paired comparisons).
The method's own seed adds the method name to that hash.
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import asdict, dataclass

import numpy as np

from mvbench.data.model import MultiViewDataset


class ConditionError(ValueError):
    """A condition cannot be applied (one-line message)."""


def derive_seed(*parts: object) -> int:
    """A 32-bit seed from a stable hash of ``parts`` (same parts, same seed, any machine)."""
    blob = "\x1f".join(repr(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "little")


#: The missing-view protocols (see the module doc); ``paired`` is the default.
PAIRED, PAIRS, PER_VIEW = "paired", "pairs", "per_view"
MISSING_PROTOCOLS = (PAIRED, PAIRS, PER_VIEW)


@dataclass(frozen=True)
class Condition:
    """One point of the condition grid."""

    missing_rate: float = 0.0
    missing_view: str | None = None
    subsample: float | None = None
    missing_protocol: str = PAIRED

    def __post_init__(self) -> None:
        if not 0.0 <= self.missing_rate < 1.0:
            raise ConditionError(f"missing rate {self.missing_rate} is outside [0, 1): use e.g. 0.3")
        if self.missing_protocol not in MISSING_PROTOCOLS:
            raise ConditionError(
                f"unknown missing protocol {self.missing_protocol!r}: use one of {', '.join(MISSING_PROTOCOLS)}"
            )
        if self.missing_protocol != PAIRED and self.missing_view is not None:
            raise ConditionError(
                f"--missing-view applies to the paired protocol only, not {self.missing_protocol}: drop one of them"
            )
        if self.subsample is not None:
            s = self.subsample
            if s <= 0 or (s > 1 and float(s) != int(s)):
                raise ConditionError(
                    f"subsample {s} must be a fraction in (0, 1] or a whole number of samples per class"
                )

    def as_params(self) -> dict[str, object]:
        return {
            "missing_rate": self.missing_rate,
            "missing_view": self.missing_view or "random",
            "subsample": 1.0 if self.subsample is None else self.subsample,
            "missing_protocol": self.missing_protocol,
        }

    def key(self) -> str:
        """Stable text of the condition; the default protocol is left out, so the keys (and seeds) of
        cells logged before protocols existed stay the same."""
        d = asdict(self)
        if self.missing_protocol == PAIRED:
            del d["missing_protocol"]
        return ",".join(f"{k}={d[k]}" for k in sorted(d))

    def label(self) -> str:
        """Short human-readable form for tables."""
        parts = []
        if self.missing_rate:
            parts.append(
                f"miss={self.missing_rate:g}"
                + (f"({self.missing_view})" if self.missing_view else "")
                + ("" if self.missing_protocol == PAIRED else f"[{self.missing_protocol}]")
            )
        if self.subsample is not None and self.subsample != 1:
            parts.append(f"sub={self.subsample:g}")
        return " ".join(parts) or "complete"

    def select(self, data: MultiViewDataset, repetition: int) -> tuple[np.ndarray | None, np.ndarray]:
        """The kept sample indices (None: all) and the observed mask under this condition, computed
        from labels and mask alone (no view is read). Raises :class:`ConditionError` if infeasible."""
        index, mask = None, data.mask
        if self.subsample is not None and self.subsample != 1:
            index = subsample_index(data, self.subsample, derive_seed(data.name, "subsample", repetition))
            mask = mask[index]
        if self.missing_rate > 0:
            if self.missing_protocol == PAIRED:
                view = None if self.missing_view is None else data.view_index(self.missing_view)
                seed = derive_seed(data.name, "missing", self.missing_view, self.subsample, repetition)
                mask = missing_mask(mask, self.missing_rate, view, seed)
            else:
                seed = derive_seed(data.name, "missing", self.missing_protocol, self.subsample, repetition)
                remove = missing_pairs_mask if self.missing_protocol == PAIRS else missing_per_view_mask
                mask = remove(mask, self.missing_rate, seed)
        return index, mask

    def apply(self, data: MultiViewDataset, repetition: int) -> MultiViewDataset:
        """The dataset as seen under this condition in repetition ``repetition``."""
        index, mask = self.select(data, repetition)
        if index is not None:
            data = data.subset(index)
        if self.missing_rate > 0:
            data = data.with_mask(mask)
        return data


def subsample_index(data: MultiViewDataset, subsample: float, seed: int) -> np.ndarray:
    """Sorted indices of a per-class random subsample (fraction or count per class)."""
    if data.labels is None:
        raise ConditionError(f"dataset {data.name!r} has no labels: per-class subsampling needs them")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(data.labels):
        members = np.flatnonzero(data.labels == c)
        perm = members[rng.permutation(len(members))]
        count = int(round(subsample * len(members))) if subsample <= 1 else int(subsample)
        keep.append(perm[: max(1, min(count, len(members)))])
    return np.sort(np.concatenate(keep))


def missing_mask(mask: np.ndarray, rate: float, view: int | None, seed: int) -> np.ndarray:
    """A copy of ``mask`` with views removed from round(rate * n) samples (see module doc)."""
    n, n_views = mask.shape
    if n_views < 2:
        raise ConditionError("a missing-view condition needs a dataset with at least two views")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    pick = rng.random(size=int(n))  # per-sample draw of the view to drop (used when view is None)
    eligible = mask.sum(axis=1) >= 2
    if view is not None:
        eligible &= mask[:, view]
    n_missing = int(round(rate * n))
    candidates = order[eligible[order]]
    if n_missing > len(candidates):
        raise ConditionError(
            f"missing rate {rate} needs {n_missing} samples that can lose a view, but only "
            f"{len(candidates)} can: lower --missing-rate"
        )
    new = mask.copy()
    for i in candidates[:n_missing]:
        if view is not None:
            new[i, view] = False
        else:
            observed = np.flatnonzero(mask[i])
            new[i, observed[int(pick[i] * len(observed))]] = False
    return new


def missing_pairs_mask(mask: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """PolyClustX's protocol: a copy of ``mask`` without floor(rate * observed pairs) sample-view
    pairs, drawn in a random order among the observed ones, never a sample's last view."""
    if mask.shape[1] < 2:
        raise ConditionError("a missing-view condition needs a dataset with at least two views")
    count = int(np.floor(rate * mask.sum()))
    capacity = int(mask.sum() - mask.any(axis=1).sum())
    if count > capacity:
        raise ConditionError(
            f"missing rate {rate} (pairs) removes {count} sample-view pairs, but only {capacity} can go "
            f"without emptying a sample: lower --missing-rate"
        )
    rng = np.random.default_rng(seed)
    new = mask.copy()
    left = mask.sum(axis=1)
    removed = 0
    for i, v in rng.permutation(np.argwhere(mask)):
        if removed == count:
            break
        if left[i] > 1:
            new[i, v] = False
            left[i] -= 1
            removed += 1
    return new


def missing_per_view_mask(mask: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """The IMC survey toolbox's ``splitDigitData.m``: floor(rate * n) rows removed from every view,
    then samples left with no view repaired (see the module doc)."""
    n, n_views = mask.shape
    if n_views < 2:
        raise ConditionError("a missing-view condition needs a dataset with at least two views")
    per_view = int(np.floor(rate * n))
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(np.flatnonzero(mask[:, v])) for v in range(n_views)]
    if any(per_view > len(order) for order in orders):
        raise ConditionError(
            f"missing rate {rate} (per_view) removes {per_view} rows per view, more than a view has: "
            f"lower --missing-rate"
        )
    new = mask.copy()
    for v, order in enumerate(orders):
        new[order[:per_view], v] = False
    cursor = [per_view] * n_views
    left = new.sum(axis=1)
    empty = list(np.flatnonzero(left == 0))  # a heap: the lowest-numbered empty sample is repaired first
    heapq.heapify(empty)
    while empty:
        sample = heapq.heappop(empty)
        v = int(rng.choice(np.flatnonzero(mask[sample])))  # restore one of the views it had
        if cursor[v] >= len(orders[v]):
            raise ConditionError(
                f"missing rate {rate} (per_view) leaves samples without any view: lower --missing-rate"
            )
        new[sample, v] = True
        left[sample] += 1
        moved = orders[v][cursor[v]]  # the next sample of that view's permutation loses it instead
        cursor[v] += 1
        new[moved, v] = False
        left[moved] -= 1
        if left[moved] == 0:
            heapq.heappush(empty, moved)
    return new
