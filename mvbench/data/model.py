"""The in-memory multi-view dataset: views, observed mask, labels, ids and a dataset card."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np


class DataValidationError(ValueError):
    """A dataset violates the data model (one-line message naming the problem)."""


class LabelsHiddenError(AttributeError):
    """A method read the labels of the dataset it is clustering (methods never see labels)."""


@dataclass
class DatasetCard:
    """Provenance of a dataset: what it is, where it comes from, how each view was made."""

    name: str
    source: str = ""
    citation: str = ""
    license: str = ""
    description: str = ""
    feature_extractors: dict[str, str] = field(default_factory=dict)
    sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "citation": self.citation,
            "license": self.license,
            "description": self.description,
            "feature_extractors": dict(self.feature_extractors),
            "sha256": self.sha256,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetCard:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


class MultiViewDataset:
    """V views of n samples, with an observed mask (n x V), optional labels and sample ids.

    Views are float32 arrays of shape (n, d_v). Rows of a view that are not observed hold zeros
    and are flagged ``False`` in ``mask``: methods must read the mask. ``views`` may be a lazy
    sequence (see :mod:`mvbench.data.store`); a view is read on first access.
    """

    def __init__(
        self,
        views: Sequence[np.ndarray],
        view_names: Sequence[str] | None = None,
        mask: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        ids: Sequence[str] | np.ndarray | None = None,
        card: DatasetCard | None = None,
        n_samples: int | None = None,
        view_dims: Sequence[int] | None = None,
    ) -> None:
        self._views = views
        n_views = len(views)
        if n_samples is None:
            if n_views == 0:
                raise DataValidationError("a dataset needs at least one view")
            n_samples = int(views[0].shape[0])
        self.n_samples = int(n_samples)
        self.view_names = list(view_names) if view_names is not None else [f"view{v}" for v in range(n_views)]
        self.view_dims = list(view_dims) if view_dims is not None else [int(views[v].shape[1]) for v in range(n_views)]
        self.mask = np.ones((self.n_samples, n_views), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        self._labels_hidden = False
        self.labels = labels
        self.ids = (
            np.array([str(i) for i in range(self.n_samples)], dtype=object)
            if ids is None
            else np.asarray(ids, dtype=object)
        )
        self.card = card if card is not None else DatasetCard(name="unnamed")

    # -- access ---------------------------------------------------------------------------------
    @property
    def labels(self) -> np.ndarray | None:
        """The ground-truth labels (None when unknown); reading them from :meth:`without_labels`
        raises :class:`LabelsHiddenError`."""
        if self._labels_hidden:
            raise LabelsHiddenError(
                "methods never see labels: this dataset was handed to a method "
                "with its labels hidden (use n_clusters given to fit_predict)"
            )
        return self._labels

    @labels.setter
    def labels(self, labels: np.ndarray | None) -> None:
        self._labels = None if labels is None else np.asarray(labels)

    def without_labels(self) -> MultiViewDataset:
        """A view of this dataset (same arrays, read-only) whose labels cannot be read: what the
        runner hands to a method."""
        views = []
        for x in self.views:
            x = x.view()
            x.flags.writeable = False
            views.append(x)
        mask = self.mask.view()
        mask.flags.writeable = False
        hidden = MultiViewDataset(views, self.view_names, mask, None, self.ids, replace(self.card))
        hidden._labels_hidden = True
        return hidden

    @property
    def views(self) -> list[np.ndarray]:
        """All views as float32 arrays (reads lazy views)."""
        return [self.view(v) for v in range(self.n_views)]

    def view(self, v: int | str) -> np.ndarray:
        """One view by index or name."""
        return self._views[self.view_index(v)]

    def view_index(self, v: int | str) -> int:
        if isinstance(v, (int, np.integer)):
            if not 0 <= int(v) < self.n_views:
                raise DataValidationError(f"view index {v} out of range: the dataset has {self.n_views} views")
            return int(v)
        if v not in self.view_names:
            raise DataValidationError(f"unknown view {v!r}: choose one of {', '.join(self.view_names)}")
        return self.view_names.index(v)

    def view_indices(self, spec: str) -> list[int]:
        """Indices named by ``spec``: ``"all"``, or a comma-separated list of view names or indices."""
        if spec == "all":
            return list(range(self.n_views))
        picked = [self.view_index(int(s) if s.strip().isdigit() else s.strip()) for s in spec.split(",") if s.strip()]
        if not picked or len(set(picked)) != len(picked):
            raise DataValidationError(
                f"views={spec!r} must name distinct views, e.g. 'all' or '{self.view_names[0]},1'"
            )
        return picked

    @property
    def n_views(self) -> int:
        return len(self._views)

    @property
    def n_clusters(self) -> int | None:
        """Number of distinct labels, if labels are known."""
        labels = self.labels
        return None if labels is None else int(len(np.unique(labels)))

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def is_complete(self) -> bool:
        return bool(self.mask.all())

    def __repr__(self) -> str:
        dims = ", ".join(f"{n}:{d}" for n, d in zip(self.view_names, self.view_dims))
        return f"MultiViewDataset({self.name!r}, n={self.n_samples}, views=[{dims}], K={self.n_clusters})"

    # -- derived datasets -------------------------------------------------------------------------
    def subset(self, index: np.ndarray) -> MultiViewDataset:
        """The samples at ``index`` (views are materialised)."""
        index = np.asarray(index)
        out = MultiViewDataset(
            [x[index] for x in self.views],
            self.view_names,
            self.mask[index],
            None if self._labels is None else self._labels[index],
            self.ids[index],
            replace(self.card),
        )
        out._labels_hidden = self._labels_hidden
        return out

    def select_views(self, indices: Sequence[int]) -> MultiViewDataset:
        """The same samples seen through the views at ``indices`` only (in that order)."""
        indices = list(indices)
        out = MultiViewDataset(
            [self.view(v) for v in indices],
            [self.view_names[v] for v in indices],
            self.mask[:, indices],
            self._labels,
            self.ids,
            replace(self.card),
        )
        out._labels_hidden = self._labels_hidden
        return out

    def with_mask(self, mask: np.ndarray) -> MultiViewDataset:
        """A copy whose unobserved rows are zeroed to match ``mask``."""
        mask = np.asarray(mask, dtype=bool)
        views = []
        for v, x in enumerate(self.views):
            if mask[:, v].all():
                views.append(x)
            else:
                x = x.copy()
                x[~mask[:, v]] = 0.0
                views.append(x)
        out = MultiViewDataset(views, self.view_names, mask, self._labels, self.ids, replace(self.card))
        out._labels_hidden = self._labels_hidden
        return out

    # -- integrity --------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`DataValidationError` naming the first problem found."""
        n, n_views = self.n_samples, self.n_views
        if n_views == 0:
            raise DataValidationError("a dataset needs at least one view")
        if len(self.view_names) != n_views or len(set(self.view_names)) != n_views:
            raise DataValidationError("view names must be unique, one per view")
        if self.mask.shape != (n, n_views):
            raise DataValidationError(f"mask has shape {self.mask.shape}, expected ({n}, {n_views})")
        for v, x in enumerate(self.views):
            if x.ndim != 2:
                raise DataValidationError(f"view {self.view_names[v]!r} must be 2-D (n x d), got {x.ndim}-D")
            if x.shape[0] != n:
                raise DataValidationError(
                    f"view {self.view_names[v]!r} has {x.shape[0]} rows but the dataset has {n} samples"
                )
            observed = x[self.mask[:, v]]
            if not np.isfinite(observed).all():
                raise DataValidationError(f"view {self.view_names[v]!r} has NaN or Inf in observed entries")
        empty = ~self.mask.any(axis=1)
        if empty.any():
            raise DataValidationError(
                f"{int(empty.sum())} sample(s) have no observed view (first: id {self.ids[np.argmax(empty)]})"
            )
        if len(self.ids) != n:
            raise DataValidationError(f"{len(self.ids)} ids for {n} samples")
        if self._labels is not None and len(self._labels) != n:
            raise DataValidationError(f"labels have length {len(self._labels)} but the dataset has {n} samples")

    def content_sha256(self) -> str:
        """sha256 over views, mask, labels and ids: identifies the data, not its card."""
        h = hashlib.sha256()
        for name, x in zip(self.view_names, self.views):
            h.update(name.encode())
            h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
        h.update(np.ascontiguousarray(self.mask).tobytes())
        if self._labels is not None:
            h.update(np.asarray(self._labels).astype(np.int64).tobytes())
        h.update("\x00".join(map(str, self.ids)).encode())
        return h.hexdigest()


def encode_labels(labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary labels to 0..K-1 (sorted order); returns the codes and the class names."""
    classes, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.astype(np.int64), [str(c) for c in classes]
