"""Import the multi-view clustering community's MATLAB ``.mat`` files as :class:`MultiViewDataset`.

The field ships multi-view data in many layouts; :func:`import_mat` detects them:

- views in a cell array (``X``, ``data``, ``fea``, ...), as numbered variables (``X1``, ``x2``,
  ``view3``...) or as other named matrices (``bbc``, ``guardian``...); each view n x d or d x n,
  dense (any numeric dtype) or sparse, or as MATLAB ``find`` triplets (m x 3: sample, feature,
  value; the feature count is then the largest feature index, as ``spconvert`` does);
- labels under ``y``/``Y``/``gt``/``gnd``/``truth``/``truelabel``/``label(s)``..., 0-, 1- or
  otherwise based, row or column vectors, one-hot matrices, or inside a cell (copies per view);
- train/test splits (``x1_train``/``x1_test``/``gt_train``...), concatenated train, val, test;
- MATLAB v7.3 files (HDF5: arrays stored transposed, cells as object references, sparse matrices as
  ``data``/``ir``/``jc`` groups), read with h5py;
- naturally missing views: rows that are all NaN, per-view observed-index cells (``index{v}``, also
  when a view stores only its observed samples), or a 0/1 indicator matrix (``MissingStatus``,
  ``ind``...) that agrees with the data (its "missing" rows are empty in the views).

The sample axis is decided from the label length (or the size all views share); a view whose rows
and columns both fail to match is refused. Explicit options override detection. Sparse views stay
scipy-sparse until each is converted once to dense float32 at the end. The layout found is
recorded in ``card.extra``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.io
import scipy.sparse as sp

from mvbench.data.model import DatasetCard, DataValidationError, MultiViewDataset

Orientation = Literal["auto", "rows", "cols"]

VIEW_CELL_KEYS = ("x", "data", "fea", "feas", "features", "feature", "xs", "views", "view", "dataset", "x_data")
LABEL_KEYS = (
    "y",
    "gt",
    "gnd",
    "truth",
    "truelabel",
    "truelabels",
    "true_label",
    "true_labels",
    "label",
    "labels",
    "target",
    "targets",
    "ground_truth",
    "groundtruth",
    "class",
    "classes",
    "category",
    "y_true",
)
VIEW_NAME_KEYS = ("view_meaning", "view_names", "viewnames", "view_name", "views_name")
CLASS_NAME_KEYS = ("class_meaning", "class_names", "classnames", "categories")
INDEX_KEYS = ("index", "idx", "ind_obs", "observed_index")
INDICATOR_HINT = re.compile(r"miss|mask|status|^ind$|^w$|indicator|observed|exist", re.I)
SPLIT_RE = re.compile(
    r"^(?:(?P<pre>train|val|valid|test)_?(?P<b1>.+)|(?P<b2>.+?)_?(?P<suf>train|val|valid|test))$", re.I
)
NUMBERED_RE = re.compile(r"^(?P<prefix>[A-Za-z]+)_?(?P<num>\d+)$")


class MatLayoutError(DataValidationError):
    """The .mat file's layout could not be interpreted (one-line message naming the fix)."""


# -- reading ----------------------------------------------------------------------------------------------
def read_mat(path: str | Path) -> tuple[dict[str, Any], str]:
    """All variables of a .mat file (structs flattened to ``a.b`` keys) and its format name."""
    path = Path(path)
    if not path.exists():
        raise MatLayoutError(f"{path} does not exist")
    import h5py

    if h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            raw = {k: _h5_value(f, f[k]) for k in f if not k.startswith("#")}
        fmt = "MATLAB v7.3 (HDF5)"
    else:
        try:
            raw = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)
        except Exception as exc:  # scipy raises several types for non-MAT input
            raise MatLayoutError(f"{path} is not a readable MATLAB .mat file: {exc}") from exc
        fmt = "MATLAB v4-v7 (scipy.io)"
        raw = {k: v for k, v in raw.items() if not k.startswith("__")}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        _flatten(key, value, out)
    return out, fmt


def _flatten(key: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{key}.{k}", v, out)
    elif isinstance(value, np.ndarray) and value.dtype.names and value.size == 1:
        for k in value.dtype.names:
            _flatten(f"{key}.{k}", value[k].flat[0], out)
    else:
        out[key] = value


def _h5_value(f: Any, obj: Any) -> Any:
    """One MATLAB v7.3 variable in scipy.io.loadmat's representation (MATLAB shape restored)."""
    import h5py

    attrs = obj.attrs
    if isinstance(obj, h5py.Group):
        if "MATLAB_sparse" in attrs:
            jc = obj["jc"][()].astype(np.int64)
            ir = obj["ir"][()].astype(np.int64) if "ir" in obj else np.zeros(0, np.int64)
            data = obj["data"][()] if "data" in obj else np.ones(len(ir))
            return sp.csc_matrix((data, ir, jc), shape=(int(attrs["MATLAB_sparse"]), len(jc) - 1))
        return {k: _h5_value(f, obj[k]) for k in obj}
    cls = attrs.get("MATLAB_class", b"")
    cls = cls.decode() if isinstance(cls, bytes) else str(cls)
    if attrs.get("MATLAB_empty", 0):
        return np.zeros((0, 0))
    arr = obj[()]
    if cls == "cell":
        cells = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            cells[idx] = _h5_value(f, f[arr[idx]])
        return cells.T
    if cls == "char":
        return np.array(["".join(map(chr, np.asarray(arr).T.ravel()))])
    if arr.dtype.names:  # complex numbers are stored as a (real, imag) compound
        raise MatLayoutError(f"variable {obj.name!r} is complex; mvbench views must be real")
    return np.asarray(arr).T.astype(bool) if cls == "logical" else np.asarray(arr).T


# -- helpers ---------------------------------------------------------------------------------------------
def _is_matrix(x: Any) -> bool:
    """A 2-D numeric (dense or sparse) array with more than one row and column."""
    if sp.issparse(x):
        return min(x.shape) > 1
    return isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind in "biuf" and min(x.shape) > 1


def _is_binary(x: Any) -> bool:
    values = x.data if sp.issparse(x) else x
    return bool(np.isin(values, (0, 1)).all())


def _is_vector(x: Any) -> bool:
    return (
        isinstance(x, np.ndarray)
        and x.dtype != object
        and x.size > 0
        and (x.ndim == 1 or (x.ndim == 2 and min(x.shape) == 1))
    )


def _cell_items(x: Any) -> list[Any]:
    """Elements of a (possibly nested) cell array, in MATLAB's linear (column-major) order."""
    items = []
    for item in np.asarray(x, dtype=object).ravel(order="F"):
        if isinstance(item, np.ndarray) and item.dtype == object:
            items.extend(_cell_items(item))
        else:
            items.append(item)
    return items


def _strings(x: Any) -> list[str] | None:
    """A cell of strings (or a char array) as a list of str, else None."""
    if not isinstance(x, np.ndarray):
        return None
    items = _cell_items(x) if x.dtype == object else [x]
    out = []
    for item in items:
        if isinstance(item, np.ndarray) and item.dtype.kind == "U" and item.size == 1:
            out.append(str(item.ravel()[0]).strip())
        elif isinstance(item, str):
            out.append(item.strip())
        else:
            return None
    return out


def _shape(x: Any) -> str:
    if isinstance(x, np.ndarray) and x.dtype == object:
        return f"cell {'x'.join(map(str, x.shape))}"
    kind = "sparse " if sp.issparse(x) else ""
    shape = getattr(x, "shape", ())
    dtype = getattr(x, "dtype", type(x).__name__)
    return f"{kind}{'x'.join(map(str, shape))} {dtype}"


def _key_lookup(variables: dict[str, Any], names: Sequence[str]) -> list[str]:
    """Keys of ``variables`` whose last component matches one of ``names`` (case-insensitive), in names' order."""
    by_lower: dict[str, list[str]] = {}
    for key in variables:
        by_lower.setdefault(key.split(".")[-1].lower(), []).append(key)
    return [k for name in names for k in by_lower.get(name, [])]


# -- labels ----------------------------------------------------------------------------------------------
def _label_vector(value: Any, key: str) -> np.ndarray | None:
    """A label vector from a vector, a one-hot matrix or a cell of identical vectors."""
    if sp.issparse(value):
        value = value.toarray()
    if not isinstance(value, np.ndarray) or value.size == 0:
        return None
    if value.dtype == object:
        strings = _strings(value)
        if strings is not None and len(strings) > 1:
            return np.asarray(strings)
        vectors = [v for v in (_label_vector(item, key) for item in _cell_items(value)) if v is not None]
        if not vectors:
            return None
        if any(len(v) != len(vectors[0]) or not np.array_equal(v, vectors[0]) for v in vectors[1:]):
            raise MatLayoutError(
                f"labels {key!r} is a cell of {len(vectors)} different label vectors; pass labels_key naming one vector"
            )
        return vectors[0]
    if _is_vector(value):
        return value.ravel()
    if value.ndim == 2 and value.dtype.kind in "biuf" and np.isin(value, (0, 1)).all():
        for axis in (1, 0):  # one-hot: exactly one 1 per sample
            if (value.sum(axis=axis) == 1).all():
                return np.argmax(value, axis=axis)
    return None


def _encode_labels(y: np.ndarray, key: str) -> tuple[np.ndarray, dict[str, Any]]:
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise MatLayoutError(f"labels {key!r} contain NaN or Inf; pass labels_key naming a clean vector")
        if np.all(y == np.round(y)):
            y = y.astype(np.int64)
    classes, codes = np.unique(y, return_inverse=True)
    info: dict[str, Any] = {"n_classes": int(len(classes))}
    if y.dtype.kind in "iub":
        lo = int(classes.min())
        consecutive = np.array_equal(classes, np.arange(lo, lo + len(classes)))
        info["label_base"] = lo if consecutive else "non-consecutive"
        if not consecutive:
            info["label_values"] = [int(c) for c in classes]
    else:
        info["label_base"] = "strings" if y.dtype.kind in "US" else "float"
        info["label_values"] = [str(c) for c in classes]
    return codes.astype(np.int64).ravel(), info


# -- one part (whole file, or one split) -----------------------------------------------------------------
@dataclass
class _Part:
    views: list[Any]  # oriented: samples on rows (dense ndarray or sparse)
    names: list[str]
    labels: np.ndarray | None
    mask: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _find_views(
    variables: dict[str, Any], views_key: str | Sequence[str] | None, exclude: set[str]
) -> tuple[list[Any], list[str], str, list[str]]:
    """The raw view matrices, default names, where they came from, and the keys used."""
    if views_key is not None:
        keys = list(views_key)
        missing = [k for k in keys if k not in variables]
        if missing:
            raise MatLayoutError(f"views_key {missing[0]!r} is not in the file; keys found: {', '.join(variables)}")
        if len(keys) == 1 and isinstance(variables[keys[0]], np.ndarray) and variables[keys[0]].dtype == object:
            items = _cell_items(variables[keys[0]])
            return items, [f"view{v}" for v in range(len(items))], f"cell {keys[0]!r}", keys
        return [variables[k] for k in keys], keys, f"variables {', '.join(keys)}", keys
    # 1. a cell array of matrices, preferring the usual names
    cells = [
        k
        for k, v in variables.items()
        if k not in exclude
        and isinstance(v, np.ndarray)
        and v.dtype == object
        and any(_is_matrix(i) for i in _cell_items(v))
    ]
    if cells:
        known = _key_lookup({k: None for k in cells}, VIEW_CELL_KEYS)
        if len(known) > 1 or (not known and len(cells) > 1):
            choices = known or cells
            raise MatLayoutError(
                f"several cell arrays could hold the views ({', '.join(choices)}); "
                f"pass views_key (--views-key) naming one"
            )
        key = (known or cells)[0]
        items = _cell_items(variables[key])
        return items, [f"view{v}" for v in range(len(items))], f"cell {key!r}", [key]
    # 2. numbered variables X1, X2, ... (one group)
    groups: dict[str, list[tuple[int, str]]] = {}
    for k, v in variables.items():
        match = NUMBERED_RE.match(k)
        if match and k not in exclude and _is_matrix(v):
            groups.setdefault(match["prefix"].lower(), []).append((int(match["num"]), k))
    groups = {p: sorted(g) for p, g in groups.items() if len(g) > 1}
    if len(groups) == 1:
        keys = [k for _, k in next(iter(groups.values()))]
        return [variables[k] for k in keys], keys, f"numbered variables {', '.join(keys)}", keys
    if len(groups) > 1:
        raise MatLayoutError(
            f"several numbered variable groups could be the views ({', '.join(groups)}); "
            f"pass views_key (--views-key) as comma-separated keys"
        )
    # 3. the remaining matrices, each one view
    keys = [
        k
        for k, v in variables.items()
        if k not in exclude and _is_matrix(v) and not (INDICATOR_HINT.search(k.split(".")[-1]) and _is_binary(v))
    ]
    if keys:
        return [variables[k] for k in keys], keys, f"variables {', '.join(keys)}", keys
    raise MatLayoutError(
        "found no view matrices; keys found: "
        + ", ".join(f"{k} ({_shape(v)})" for k, v in variables.items())
        + "; pass views_key (--views-key) naming the cell array or matrices of the views"
    )


def _find_labels(variables: dict[str, Any], labels_key: str | None) -> tuple[str | None, np.ndarray | None]:
    if labels_key is not None:
        if labels_key not in variables:
            raise MatLayoutError(f"labels_key {labels_key!r} is not in the file; keys found: {', '.join(variables)}")
        y = _label_vector(variables[labels_key], labels_key)
        if y is None:
            raise MatLayoutError(f"labels_key {labels_key!r} ({_shape(variables[labels_key])}) is not a label vector")
        return labels_key, y
    found: list[tuple[str, np.ndarray]] = []
    for key in _key_lookup(variables, LABEL_KEYS):
        y = _label_vector(variables[key], key)
        if y is not None:
            found.append((key, y))
    if not found:
        return None, None
    key, y = found[0]
    for other, y2 in found[1:]:
        if len(y2) == len(y) and not np.array_equal(_encode_labels(y2, other)[0], _encode_labels(y, key)[0]):
            raise MatLayoutError(
                f"{key!r} and {other!r} both look like labels but differ; pass labels_key (--labels-key) naming one"
            )
    return key, y


def _sample_count(views: list[Any], labels: np.ndarray | None) -> int:
    if labels is not None:
        return len(labels)
    common = set(views[0].shape)
    for x in views[1:]:
        common &= set(x.shape)
    if len(common) == 1:
        return common.pop()
    if len(views) == 1 or not common:
        raise MatLayoutError(
            "found no labels and cannot tell the sample axis from the view shapes "
            f"({', '.join('x'.join(map(str, x.shape)) for x in views)}); pass labels_key or "
            "orientation (rows: views are n x d, cols: d x n)"
        )
    raise MatLayoutError(
        f"found no labels and every view has both sizes {sorted(common)}; pass orientation "
        "(rows: views are n x d, cols: d x n) or labels_key"
    )


def _orient(
    views: list[Any], names: list[str], n: int, orientation: Orientation, index: list[np.ndarray] | None
) -> tuple[list[Any], list[str], list[np.ndarray | None]]:
    """Views with samples on rows; per view the observed sample positions when it stores only those."""
    oriented, how, rows_of = [], [], []
    for v, x in enumerate(views):
        if not (sp.issparse(x) or (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind in "biuf")):
            raise MatLayoutError(f"view {names[v]!r} is {_shape(x)}, not a numeric matrix; pass views_key")
        rows, cols = x.shape
        # a view holds all n samples (missing ones empty or NaN), or only its observed ones (index{v})
        n_v = n if index is None or n in x.shape or len(index[v]) not in x.shape else len(index[v])
        if orientation == "rows" or (orientation == "auto" and rows == n_v and cols != n_v):
            choice = "rows"
        elif orientation == "cols" or (orientation == "auto" and cols == n_v and rows != n_v):
            choice = "cols"
        elif rows == n_v == cols:
            choice = "square"
        elif orientation == "auto" and (triplets := _from_triplets(x, n_v)) is not None:
            choice, x = "triplets", triplets
        else:
            raise MatLayoutError(
                f"view {names[v]!r} has shape {rows}x{cols} but the dataset has {n} samples"
                f"{'' if n_v == n else f' ({n_v} observed in this view)'}: neither its rows nor its columns "
                "match; check labels_key (--labels-key) and views_key (--views-key)"
            )
        if choice in ("rows", "cols") and x.shape[0 if choice == "rows" else 1] != n_v:
            raise MatLayoutError(
                f"view {names[v]!r} has shape {rows}x{cols}: with orientation={orientation!r} "
                f"it should have {n_v} samples along its {choice}"
            )
        how.append(choice)
        oriented.append(x)
        rows_of.append(None if n_v == n or index is None else index[v])
    decided = [h for h in how if h in ("rows", "cols")]
    if "square" in how:
        if not decided or len(set(decided)) > 1:
            raise MatLayoutError(
                "a view is square (n x n) and the other views do not settle the orientation; "
                "pass orientation (--orientation rows|cols)"
            )
        how = [decided[0] if h == "square" else h for h in how]
    oriented = [x.T if h == "cols" else x for x, h in zip(oriented, how)]
    return oriented, how, rows_of


def _from_triplets(x: Any, n: int) -> sp.csr_matrix | None:
    """A sparse n x d view from MATLAB ``find``/``spconvert`` triplets (sample, feature, value; 1-based)."""
    if sp.issparse(x) or x.shape[1] != 3 or x.dtype.kind not in "iuf" or len(x) == 0:
        return None
    idx = x[:, :2]
    if not (np.all(idx == np.round(idx)) and idx.min() >= 1):
        return None
    rows, cols = idx[:, 0].astype(np.int64) - 1, idx[:, 1].astype(np.int64) - 1
    if rows.max() == n - 1:
        return sp.csr_matrix((x[:, 2], (rows, cols)), shape=(n, int(cols.max()) + 1))  # duplicates are summed
    if cols.max() == n - 1:
        return sp.csr_matrix((x[:, 2], (cols, rows)), shape=(n, int(rows.max()) + 1))
    return None


def _index_cells(variables: dict[str, Any], n_views: int) -> tuple[str | None, list[np.ndarray] | None]:
    """Per-view 1-based observed-sample indices (``index{v}``), when the file has them."""
    for key in _key_lookup(variables, INDEX_KEYS):
        value = variables[key]
        if isinstance(value, np.ndarray) and value.dtype == object:
            items = _cell_items(value)
            if len(items) == n_views and all(_is_vector(i) and i.dtype.kind in "iuf" for i in items):
                return key, [np.asarray(i).ravel().astype(np.int64) - 1 for i in items]
    return None, None


def _scatter(x: Any, rows: np.ndarray, n: int) -> Any:
    """Place the rows of ``x`` (observed samples only) at positions ``rows`` of an n-row matrix."""
    if sp.issparse(x):
        coo = x.tocoo()
        return sp.csr_matrix((coo.data, (rows[coo.row], coo.col)), shape=(n, x.shape[1]))
    full = np.zeros((n, x.shape[1]), dtype=x.dtype if x.dtype.kind == "f" else np.float32)
    full[rows] = x
    return full


def _row_nonfinite(x: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per row: all entries non-finite; some entry non-finite."""
    if sp.issparse(x):
        x = x.tocsr()
        bad = ~np.isfinite(x.data)
        some = np.zeros(x.shape[0], bool)
        some[np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))[bad]] = True
        return np.zeros(x.shape[0], bool), some
    if x.dtype.kind != "f":
        return np.zeros(x.shape[0], bool), np.zeros(x.shape[0], bool)
    finite = np.isfinite(x)
    return ~finite.any(axis=1), ~finite.all(axis=1)


def _row_empty(x: Any) -> np.ndarray:
    """Per row: no finite non-zero entry."""
    if sp.issparse(x):
        x = x.tocsr()
        return np.diff(x.indptr) == 0
    return ~np.any(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) != 0, axis=1)


def _indicator(
    variables: dict[str, Any], candidates: list[str], views: list[Any], n: int, mask_key: str | None
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Observed mask from a 0/1 n x V matrix: named by ``mask_key`` (1 = observed), or found and
    applied only if it agrees with the data (every sample it marks missing is empty in that view)."""
    n_views = len(views)
    notes: dict[str, Any] = {}
    for key in [mask_key] if mask_key else candidates:
        if key not in variables:
            raise MatLayoutError(f"mask_key {key!r} is not in the file; keys found: {', '.join(variables)}")
        m = variables[key]
        m = m.toarray() if sp.issparse(m) else m
        ok = isinstance(m, np.ndarray) and m.dtype.kind in "biuf" and m.ndim == 2 and np.isin(m, (0, 1)).all()
        if ok and m.shape == (n_views, n) and n != n_views:
            m = m.T
        if not ok or m.shape != (n, n_views):
            if mask_key:
                raise MatLayoutError(
                    f"mask_key {key!r} ({_shape(variables[key])}) is not a 0/1 matrix of shape ({n}, {n_views})"
                )
            continue
        m = m.astype(bool)
        if mask_key:
            notes.update(indicator_key=key, indicator_applied=True, indicator_ones_mean="observed")
            return m, notes
        empty = np.column_stack([_row_empty(x) for x in views])
        if (~m).any() and (empty | m).all():
            notes.update(indicator_key=key, indicator_applied=True, indicator_ones_mean="observed")
            return m, notes
        if m.any() and (empty | ~m).all():
            notes.update(indicator_key=key, indicator_applied=True, indicator_ones_mean="missing")
            return ~m, notes
        notes.update(
            indicator_key=key,
            indicator_applied=False,
            indicator_note="the views hold data for samples this 0/1 matrix marks missing (a "
            "template pattern, not the file's missingness); pass mask_key to apply it",
        )
    return None, notes


def _parse_part(variables: dict[str, Any], options: dict[str, Any]) -> _Part:
    label_key, labels = _find_labels(variables, options.get("labels_key"))
    exclude = set(_key_lookup(variables, LABEL_KEYS + VIEW_NAME_KEYS + CLASS_NAME_KEYS + INDEX_KEYS))
    if options.get("mask_key"):
        exclude.add(options["mask_key"])
    if label_key:
        exclude.add(label_key)
    raw_views, names, views_from, view_keys = _find_views(variables, options.get("views_key"), exclude)
    index_key, index = _index_cells(variables, len(raw_views))
    orientation = options.get("orientation", "auto")
    if labels is None and orientation != "auto":
        n = raw_views[0].shape[0 if orientation == "rows" else 1]
    else:
        n = _sample_count(raw_views, labels)
    if index is not None and any(len(i) and i.max() >= n for i in index):
        index_key, index = None, None
    views, how, rows_of = _orient(raw_views, names, n, orientation, index)
    mask = np.ones((n, len(views)), dtype=bool)
    info: dict[str, Any] = {"views_from": views_from, "orientation": how}
    if index is not None:
        for v, idx in enumerate(index):
            rows = rows_of[v]
            if rows is not None:
                views[v] = _scatter(views[v], rows, n)
            observed = np.zeros(n, bool)
            observed[idx] = True
            mask[:, v] &= observed
        info["index_key"] = index_key
    nonfinite = []  # per view: rows that hold NaN/Inf and become missing views
    for v, x in enumerate(views):
        _, some_bad = _row_nonfinite(x)
        nonfinite.append(int((some_bad & mask[:, v]).sum()))
        mask[:, v] &= ~some_bad
    info["nonfinite_rows"] = nonfinite
    used = exclude | set(view_keys) | {index_key}
    candidates = [k for k in variables if k not in used and INDICATOR_HINT.search(k.split(".")[-1])]
    if mask.all() or options.get("mask_key"):
        m, notes = _indicator(variables, candidates, views, n, options.get("mask_key"))
        info.update(notes)
        if m is not None:
            mask &= m
    info["label_key"] = label_key
    return _Part(views, names, labels, mask, info)


# -- public API ------------------------------------------------------------------------------------------
def _split_groups(variables: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{split: {base key: value}} when the file stores train/test splits, else {}."""
    groups: dict[str, dict[str, Any]] = {}
    for key, value in variables.items():
        match = SPLIT_RE.match(key)
        if not match:
            continue
        split = (match["pre"] or match["suf"]).lower()
        split = "val" if split == "valid" else split
        base = match["b1"] or match["b2"]
        groups.setdefault(split, {})[base] = value
    if "train" not in groups or len(groups) < 2:
        return {}
    bases = set(groups["train"])
    if any(set(g) != bases for g in groups.values()):
        raise MatLayoutError(
            "train/test variables do not pair up ("
            + "; ".join(f"{s}: {', '.join(sorted(g))}" for s, g in groups.items())
            + "); pass views_key and labels_key"
        )
    return {s: groups[s] for s in ("train", "val", "test") if s in groups}


def _labels_outside_splits(variables: dict[str, Any], labels_key: str | None) -> bool:
    """Whether the labels are a variable of their own (``labels_key``, or a usual label name) that no
    train/test pattern matches: then variables such as ``rand_num_train`` and ``rand_num_test`` are
    side data (index lists of a protocol), not split views."""
    outside = {k: v for k, v in variables.items() if not SPLIT_RE.match(k.split(".")[0])}
    return (labels_key is not None and labels_key in outside) or bool(_key_lookup(outside, LABEL_KEYS))


def _dense_float32(x: Any, observed: np.ndarray) -> np.ndarray:
    """One dense float32 copy of a view (sparse converted once), unobserved rows zeroed."""
    if sp.issparse(x):
        out = x.astype(np.float32).toarray()
    else:
        out = np.array(x, dtype=np.float32, order="C")
    out[~observed] = 0.0
    return out


def import_mat(
    path: str | Path,
    *,
    name: str | None = None,
    views_key: str | Sequence[str] | None = None,
    labels_key: str | None = None,
    orientation: Orientation = "auto",
    view_names: Sequence[str] | None = None,
    mask_key: str | None = None,
) -> MultiViewDataset:
    """Read a community multi-view ``.mat`` file into a :class:`MultiViewDataset`.

    ``views_key``: the cell array of views, or comma-separated matrix keys (the base names for
    split files, e.g. ``x1,x2``); ``labels_key``: the label variable (base name for splits);
    ``orientation``: ``rows`` (views n x d), ``cols`` (d x n) or ``auto``; ``view_names``: names
    of the views in order; ``mask_key``: a 0/1 n x V matrix (1 = observed) to use as the mask.
    """
    path = Path(path)
    if orientation not in ("auto", "rows", "cols"):
        raise MatLayoutError(f"orientation must be auto, rows or cols, got {orientation!r}")
    variables, fmt = read_mat(path)
    if not variables:
        raise MatLayoutError(f"{path} holds no variables")
    if isinstance(views_key, str):
        views_key = [k.strip() for k in views_key.split(",") if k.strip()]
    options = dict(views_key=views_key, labels_key=labels_key, orientation=orientation, mask_key=mask_key)
    # split files (x1_train, x1_test...) unless the views were named by their full keys
    named = views_key is not None and all(k in variables for k in views_key)
    splits = {} if named or _labels_outside_splits(variables, labels_key) else _split_groups(variables)
    try:
        if splits:
            parts = [_parse_part(group, options) for group in splits.values()]
        else:
            parts = [_parse_part(variables, options)]
    except MatLayoutError as exc:
        raise MatLayoutError(f"{path.name}: {exc}") from None
    first = parts[0]
    for split, part in zip(splits, parts):
        dims = [x.shape[1] for x in part.views]
        if dims != [x.shape[1] for x in first.views] or (part.labels is None) != (first.labels is None):
            raise MatLayoutError(f"{path.name}: split {split!r} has views {dims}, unlike the train split")
    n_parts = [p.views[0].shape[0] for p in parts]
    views = [
        sp.vstack([p.views[v] for p in parts])
        if any(sp.issparse(p.views[v]) for p in parts)
        else (parts[0].views[v] if len(parts) == 1 else np.vstack([p.views[v] for p in parts]))
        for v in range(len(first.views))
    ]
    mask = np.vstack([p.mask for p in parts])
    labels, label_info = (
        (None, {})
        if first.labels is None
        else _encode_labels(np.concatenate([p.labels for p in parts]), first.info["label_key"])
    )
    names = _view_names(variables, view_names, first.names, len(views))
    nonfinite = {
        name: count
        for name, count in zip(names, np.sum([p.info.pop("nonfinite_rows") for p in parts], axis=0))
        if count
    }
    class_names = next(
        (
            s
            for k in _key_lookup(variables, CLASS_NAME_KEYS)
            if (s := _strings(variables[k])) and len(s) == label_info.get("n_classes")
        ),
        None,
    )
    extra: dict[str, Any] = {
        "importer": "mvbench.data.matlab.import_mat",
        "file": path.name,
        "format": fmt,
        "keys": {k: _shape(v) for k, v in variables.items()},
        **first.info,
        "views_dtype": [str(x.dtype) for x in views],
        "views_sparse": [bool(sp.issparse(x)) for x in views],
        **label_info,
    }
    if class_names:
        extra["class_names"] = class_names
    if splits:
        extra["splits"] = {s: int(k) for s, k in zip(splits, n_parts)}
    if not mask.all():
        extra["observed_fraction"] = [round(float(f), 4) for f in mask.mean(axis=0)]
    ids = (
        [f"{s}:{i}" for s, k in zip(splits, n_parts) for i in range(k)]
        if splits
        else [str(i) for i in range(mask.shape[0])]
    )
    del variables, parts, first  # keep only the views: each raw view is freed once converted
    dense = []
    for v in range(len(views)):
        dense.append(_dense_float32(views[v], mask[:, v]))
        views[v] = None
    if nonfinite:
        extra["nonfinite_rows_marked_missing"] = {name: int(count) for name, count in nonfinite.items()}
    card = DatasetCard(
        name=name or path.stem, source=path.name, extra=extra, description=f"imported from {path.name} ({fmt})"
    )
    data = MultiViewDataset(dense, names, mask, labels, ids, card)
    data.validate()
    return data


def _view_names(variables: dict[str, Any], given: Sequence[str] | None, default: list[str], n_views: int) -> list[str]:
    if given is not None:
        given = list(given)
        if len(given) != n_views or len(set(given)) != n_views:
            raise MatLayoutError(
                f"view_names lists {len(given)} names for {n_views} views; give one unique name per view"
            )
        return given
    for key in _key_lookup(variables, VIEW_NAME_KEYS):
        names = _strings(variables[key])
        if names and len(names) == n_views and len(set(names)) == n_views and all(names):
            return names
    return default
