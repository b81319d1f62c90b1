"""HDF5 storage of one multi-view dataset per file.

Schema (version 1)::

    /                       attrs: mvbench_schema = 1, name, n_samples, n_views, card (JSON)
    /views/v0 ... /views/vV  float32 (n, d_v), chunked + gzip; attrs: name, index
    /mask                   uint8 (n, V), 1 = observed (the dataset's natural missing views)
    /labels                 int64 (n,)               optional
    /ids                    utf-8 strings (n,)

Rows of a view that are not observed hold zeros. Files are written to a temporary name in the
same folder and renamed into place, so a half-written file never replaces a good one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from mvbench.data.model import DatasetCard, DataValidationError, MultiViewDataset

SCHEMA_VERSION = 1
SUPPORTED_SCHEMAS = (1,)


def save(data: MultiViewDataset, path: str | os.PathLike, compression_level: int = 4) -> Path:
    """Validate ``data``, fill in its card's sha256 and write it atomically to ``path``."""
    data.validate()
    data.card.sha256 = data.content_sha256()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["mvbench_schema"] = SCHEMA_VERSION
            f.attrs["name"] = data.name
            f.attrs["n_samples"] = data.n_samples
            f.attrs["n_views"] = data.n_views
            f.attrs["card"] = json.dumps(data.card.to_dict())
            group = f.create_group("views")
            for v, (name, x) in enumerate(zip(data.view_names, data.views)):
                x = np.ascontiguousarray(x, dtype=np.float32)
                chunk_rows = max(1, min(x.shape[0], (1 << 20) // max(1, 4 * x.shape[1])))
                ds = group.create_dataset(
                    f"v{v}",
                    data=x,
                    chunks=(chunk_rows, x.shape[1]) if x.size else None,
                    compression="gzip" if x.size else None,
                    compression_opts=compression_level if x.size else None,
                    shuffle=bool(x.size),
                )
                ds.attrs["name"] = name
                ds.attrs["index"] = v
            f.create_dataset("mask", data=data.mask.astype(np.uint8), compression="gzip")
            if data.labels is not None:
                f.create_dataset("labels", data=np.asarray(data.labels, dtype=np.int64))
            f.create_dataset(
                "ids", data=np.asarray([str(i) for i in data.ids], dtype=object), dtype=h5py.string_dtype("utf-8")
            )
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a shared data dir needs the umask's mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_card(path: str | os.PathLike) -> DatasetCard:
    """The card of a dataset file, without reading its arrays."""
    with h5py.File(path, "r") as f:
        _check_schema(f, Path(path))
        return DatasetCard.from_dict(json.loads(f.attrs["card"]))


class LazyViews(Sequence[np.ndarray]):
    """Views of an HDF5 file, each read (and kept) on first access."""

    def __init__(self, path: Path, n_views: int) -> None:
        self._path = path
        self._cache: dict[int, np.ndarray] = {}
        self._n = n_views

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, v):
        if isinstance(v, slice):
            return [self[i] for i in range(*v.indices(self._n))]
        if v < 0:
            v += self._n
        if v not in self._cache:
            with h5py.File(self._path, "r") as f:
                self._cache[v] = f["views"][f"v{v}"][()].astype(np.float32, copy=False)
        return self._cache[v]


def load(path: str | os.PathLike, lazy: bool = True) -> MultiViewDataset:
    """Read a dataset file; views are read on first access when ``lazy``."""
    path = Path(path)
    with h5py.File(path, "r") as f:
        _check_schema(f, path)
        n_views = int(f.attrs["n_views"])
        names, dims = [], []
        for v in range(n_views):
            ds = f["views"][f"v{v}"]
            names.append(str(ds.attrs["name"]))
            dims.append(int(ds.shape[1]))
        mask = f["mask"][()].astype(bool)
        labels = f["labels"][()] if "labels" in f else None
        ids = np.asarray([s.decode() if isinstance(s, bytes) else str(s) for s in f["ids"][()]], dtype=object)
        card = DatasetCard.from_dict(json.loads(f.attrs["card"]))
        n = int(f.attrs["n_samples"])
    views: Sequence[np.ndarray] = LazyViews(path, n_views)
    if not lazy:
        views = [views[v] for v in range(n_views)]
    return MultiViewDataset(views, names, mask, labels, ids, card, n_samples=n, view_dims=dims)


def _check_schema(f: h5py.File, path: Path) -> None:
    if "mvbench_schema" not in f.attrs:
        raise DataValidationError(f"{path} is not an mvbench dataset file (no 'mvbench_schema' attribute)")
    version = int(f.attrs["mvbench_schema"])
    if version not in SUPPORTED_SCHEMAS:
        raise DataValidationError(
            f"{path} has schema version {version}; this mvbench reads {SUPPORTED_SCHEMAS}: upgrade mvbench"
        )
    for key in ("views", "mask", "ids"):
        if key not in f:
            raise DataValidationError(f"{path} lacks the required '/{key}' entry")
    for attr in ("n_views", "n_samples", "card", "name"):
        if attr not in f.attrs:
            raise DataValidationError(f"{path} lacks the required root attribute '{attr}'")


def validate_file(path: str | os.PathLike) -> MultiViewDataset:
    """Load a file fully and check schema, shapes, finiteness, mask and checksum.

    Raises :class:`DataValidationError` with a one-line message naming the problem.
    """
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"{path} does not exist")
    try:
        data = load(path, lazy=False)
    except DataValidationError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise DataValidationError(f"{path} is not a readable mvbench HDF5 file: {exc}") from exc
    data.validate()
    if data.card.sha256 and data.card.sha256 != data.content_sha256():
        raise DataValidationError(f"{path}: content does not match the sha256 in its card (file altered?)")
    return data
