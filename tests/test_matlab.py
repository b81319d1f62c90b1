"""The MATLAB importer on synthetic layouts (written here) and on the real files of ../shared/data/mat."""

from __future__ import annotations

import itertools
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
from click.testing import CliRunner
from conftest import RAW_DIR, needs_raw

from mvbench.cli import cli
from mvbench.data import DataValidationError, store
from mvbench.data.matlab import MatLayoutError, import_mat

RNG = np.random.default_rng(0)
N = 12
Y1 = np.repeat([1, 2, 3], 4)  # 1-based labels, 3 classes
A = RNG.standard_normal((N, 5))  # view 0, n x d
B = RNG.integers(0, 7, size=(N, 3)).astype(np.uint8)


def save(tmp_path: Path, name: str, variables: dict) -> Path:
    path = tmp_path / name
    scipy.io.savemat(path, variables)
    return path


def cell(*items) -> np.ndarray:
    out = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        out[0, i] = item
    return out


# -- synthetic layouts ------------------------------------------------------------------------------------
def test_cell_rows_column_labels(tmp_path):
    data = import_mat(save(tmp_path, "a.mat", {"X": cell(A, B), "y": Y1[:, None]}))
    assert (data.n_samples, data.view_dims, data.n_clusters) == (N, [5, 3], 3)
    np.testing.assert_allclose(data.view(0), A.astype(np.float32))
    np.testing.assert_array_equal(data.view(1), B.astype(np.float32))  # uint8 -> float32, same values
    np.testing.assert_array_equal(data.labels, Y1 - 1)
    extra = data.card.extra
    assert extra["label_base"] == 1 and extra["orientation"] == ["rows", "rows"] and extra["label_key"] == "y"
    assert extra["views_dtype"] == ["float64", "uint8"] and data.view(0).dtype == np.float32


def test_cell_cols_row_vector_zero_based(tmp_path):
    y0 = Y1 - 1
    data = import_mat(save(tmp_path, "b.mat", {"data": cell(A.T, B.T), "gt": y0[None, :]}))
    assert data.card.extra["orientation"] == ["cols", "cols"] and data.card.extra["label_base"] == 0
    np.testing.assert_allclose(data.view(0), A.astype(np.float32))
    np.testing.assert_array_equal(data.labels, y0)


def test_labels_inside_cell_and_numbered_views(tmp_path):
    labels = cell(Y1[:, None], Y1[:, None])
    data = import_mat(save(tmp_path, "c.mat", {"X1": A, "X2": B.T, "truelabel": labels}))
    assert data.view_names == ["X1", "X2"] and data.card.extra["orientation"] == ["rows", "cols"]
    np.testing.assert_array_equal(data.labels, Y1 - 1)
    differing = cell(Y1[:, None], Y1[::-1, None])
    with pytest.raises(MatLayoutError, match="different label vectors"):
        import_mat(save(tmp_path, "c2.mat", {"X1": A, "X2": B, "truelabel": differing}))


def test_one_hot_and_string_labels(tmp_path):
    one_hot = np.eye(3)[Y1 - 1]
    data = import_mat(save(tmp_path, "d.mat", {"X": cell(A, B), "Y": one_hot}))
    np.testing.assert_array_equal(data.labels, Y1 - 1)
    names = np.array([["c", "a", "b"][k - 1] for k in Y1], dtype=object)[:, None]
    data = import_mat(save(tmp_path, "d2.mat", {"X": cell(A, B), "labels": names}))
    np.testing.assert_array_equal(data.labels, [2] * 4 + [0] * 4 + [1] * 4)  # sorted class names a, b, c


def test_sparse_views_kept_sparse_until_written(tmp_path):
    counts = sp.random(N, 40, density=0.2, random_state=1, format="csc") * 10
    data = import_mat(save(tmp_path, "e.mat", {"X": cell(counts.T.tocsc(), A), "Y": Y1}))
    assert data.card.extra["views_sparse"] == [True, False]
    np.testing.assert_allclose(data.view(0), counts.toarray().astype(np.float32))


def test_triplet_views(tmp_path):
    counts = sp.random(N, 9, density=0.3, random_state=3, format="coo")
    counts = sp.coo_matrix((counts.data, (counts.row, counts.col)), shape=(N, 9))
    triplets = np.column_stack([counts.row + 1, counts.col + 1, counts.data])  # MATLAB [i, j, v] = find(S)
    data = import_mat(save(tmp_path, "t.mat", {"X": cell(triplets, A), "Y": Y1}))
    last = counts.col.max() + 1  # like spconvert, the width is the largest feature index
    assert data.card.extra["orientation"] == ["triplets", "rows"] and data.view_dims[0] == last
    np.testing.assert_allclose(data.view(0), counts.toarray()[:, :last].astype(np.float32))


def test_train_test_split_concatenated(tmp_path):
    variables = {
        "x1_train": A[:8],
        "x1_test": A[8:],
        "x2_train": B[:8],
        "x2_test": B[8:],
        "gt_train": Y1[:8, None],
        "gt_test": Y1[8:, None],
    }
    data = import_mat(save(tmp_path, "f.mat", variables))
    assert data.card.extra["splits"] == {"train": 8, "test": 4}
    assert list(data.ids[:2]) == ["train:0", "train:1"] and data.ids[8] == "test:0"
    np.testing.assert_allclose(data.view(0), A.astype(np.float32))
    np.testing.assert_array_equal(data.labels, Y1 - 1)


def test_explicit_options_override(tmp_path):
    sq = RNG.standard_normal((N, N))  # square: its orientation cannot be detected alone
    path = save(tmp_path, "g.mat", {"feats": cell(sq, sq + 1), "Y": Y1, "other": Y1[::-1]})
    with pytest.raises(MatLayoutError, match="orientation"):
        import_mat(path)
    data = import_mat(path, orientation="cols", view_names=["u", "v"], labels_key="other")
    np.testing.assert_allclose(data.view("u"), sq.T.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(data.labels, Y1[::-1] - 1)
    data = import_mat(save(tmp_path, "g2.mat", {"P": A, "Q": B, "R": A[:, :2], "y": Y1}), views_key="Q,P")
    assert data.view_names == ["Q", "P"]


def test_missing_views_from_index_nan_and_indicator(tmp_path):
    observed = np.arange(N) % 3 != 0
    # IMVC-CBG style: views d x n with NaN columns for missing samples, index{v} lists observed ones
    a_nan = A.T.copy()
    a_nan[:, ~observed] = np.nan
    index = cell(np.flatnonzero(observed)[:, None] + 1, np.arange(1, N + 1)[:, None])
    data = import_mat(save(tmp_path, "h.mat", {"data": cell(a_nan, B.T), "index": index, "truelabel": Y1}))
    np.testing.assert_array_equal(data.mask[:, 0], observed)
    assert (data.view(0)[~observed] == 0).all() and data.mask[:, 1].all()
    # a view that stores only its observed samples, placed by index{v}
    data = import_mat(save(tmp_path, "h2.mat", {"X": cell(A[observed], B), "index": index, "y": Y1}))
    np.testing.assert_allclose(data.view(0)[observed], A[observed].astype(np.float32))
    np.testing.assert_array_equal(data.mask[:, 0], observed)
    # a 0/1 indicator that agrees with the data (missing rows are empty) becomes the mask ...
    a_zero = A * observed[:, None]
    ind = np.column_stack([observed, np.ones(N)]).astype(np.uint8)
    data = import_mat(save(tmp_path, "h3.mat", {"V1": a_zero, "V2": B, "ind": ind, "label": Y1}))
    np.testing.assert_array_equal(data.mask[:, 0], observed)
    assert data.card.extra["indicator_applied"] is True
    # ... a template that contradicts the data does not (unless named with mask_key)
    path = save(tmp_path, "h4.mat", {"X": cell(A, B), "MissingStatus": ind, "y": Y1})
    data = import_mat(path)
    assert data.mask.all() and data.card.extra["indicator_applied"] is False
    assert not import_mat(path, mask_key="MissingStatus").mask[:, 0].all()


def write_v73(path: Path, variables: dict) -> None:
    """Write ``variables`` the way MATLAB -v7.3 does: HDF5, arrays transposed, cells as references."""
    counter = itertools.count()
    classes = {"float64": "double", "float32": "single", "uint8": "uint8", "int32": "int32", "uint16": "uint16"}
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")

        def put(group, name, value):
            if isinstance(value, list):  # a 1 x k cell
                ref = np.empty((len(value), 1), dtype=h5py.ref_dtype)
                for i, item in enumerate(value):
                    key = f"r{next(counter)}"
                    put(refs, key, item)
                    ref[i, 0] = refs[key].ref
                group.create_dataset(name, data=ref).attrs["MATLAB_class"] = np.bytes_("cell")
            elif sp.issparse(value):
                csc = value.tocsc()
                g = group.create_group(name)
                g.attrs["MATLAB_class"] = np.bytes_("double")
                g.attrs["MATLAB_sparse"] = np.uint64(csc.shape[0])
                g["data"], g["ir"], g["jc"] = csc.data, csc.indices.astype(np.uint64), csc.indptr.astype(np.uint64)
            else:
                value = np.asarray(value)
                ds = group.create_dataset(name, data=value.T)
                ds.attrs["MATLAB_class"] = np.bytes_(classes[value.dtype.name])

        for name, value in variables.items():
            put(f, name, value)
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116) + bytes(8) + b"\x00\x02IM")


def test_v73_hdf5_matches_v5(tmp_path):
    counts = sp.random(40, N, density=0.3, random_state=2, format="csc")
    v73 = tmp_path / "v73.mat"
    write_v73(v73, {"X": [A.T, B.T, counts], "Y": Y1[None, :].astype(np.float64)})
    data = import_mat(v73)
    ref = import_mat(save(tmp_path, "v5.mat", {"X": cell(A.T, B.T, counts), "Y": Y1[None, :]}))
    assert data.card.extra["format"] == "MATLAB v7.3 (HDF5)"
    assert data.card.extra["orientation"] == ["cols"] * 3 and data.card.extra["views_sparse"][2]
    for v in range(3):
        np.testing.assert_array_equal(data.view(v), ref.view(v))
    np.testing.assert_array_equal(data.labels, ref.labels)


def test_uninterpretable_files_get_precise_errors(tmp_path):
    with pytest.raises(MatLayoutError, match=r"'view1' has shape 7x3.*neither its rows nor its columns"):
        import_mat(save(tmp_path, "u.mat", {"X": cell(A, RNG.standard_normal((7, 3))), "y": Y1}))
    with pytest.raises(MatLayoutError, match=r"found no view matrices; keys found: y .*views_key"):
        import_mat(save(tmp_path, "u2.mat", {"y": Y1}))
    with pytest.raises(MatLayoutError, match="not a readable MATLAB"):
        (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
        import_mat(tmp_path / "junk.mat")
    with pytest.raises(MatLayoutError, match="views_key 'Z' is not in the file"):
        import_mat(save(tmp_path, "u3.mat", {"X": cell(A, B), "y": Y1}), views_key="Z")


# -- the real files ----------------------------------------------------------------------------------------
RAW = RAW_DIR
REAL = {  # ../shared/data/README.md: n, view dims, K
    "handwritten": (2000, [216, 76, 64, 6, 240, 47], 10),
    "cub10": (600, [1024, 300], 10),
    "wikipedia": (2866, [128, 10], 10),
    "msrc_v1": (210, [24, 576, 512, 256, 254], 7),
    "bbcsport": (544, [3183, 3203], 5),
    "3sources": (169, [3560, 3631, 3068], 6),
    "reuters1200": (1200, [2000] * 5, 6),
    "100leaves": (1600, [64] * 3, 100),
    "orl": (400, [512, 59, 864, 254], 40),
    "bdgp": (2500, [1000, 500, 250], 5),
}
needs_real = needs_raw("mat")


@needs_real
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_file_imports_without_options(name):
    data = import_mat(RAW / "mat" / f"{name}.mat")
    assert (data.n_samples, data.view_dims, data.n_clusters) == REAL[name]
    assert data.mask.all()  # all ten are complete


def test_side_variables_and_structs_do_not_hide_views_and_labels(tmp_path):
    # synthetic3d.mat's layout: X (3 x 1 cell), Y, two protocol index matrices named like a train/test
    # split (rand_num_train, rand_num_test) and MATLAB structs (random-number generator states)
    x = np.empty((3, 1), dtype=object)
    for v in range(3):
        x[v, 0] = RNG.standard_normal((N, 3))
    rng_state = {"Type": "twister", "Seed": 8.0, "State": np.arange(625, dtype=np.uint32)[:, None]}
    index = RNG.integers(1, N, size=(6, 10)).astype(np.uint16)
    variables = {"X": x, "Y": Y1[:, None], "rand_num_train": index, "rand_num_test": index, "seedCV": rng_state}
    path = save(tmp_path, "s3d.mat", variables)
    for labels_key in (None, "Y"):
        data = import_mat(path, labels_key=labels_key)
        assert (data.n_samples, data.view_dims, data.n_clusters) == (N, [3, 3, 3], 3)
        assert data.card.extra["views_from"] == "cell 'X'" and data.card.extra["label_key"] == "Y"


@needs_real
def test_synthetic3d_imports_without_options_and_with_labels_key():
    for labels_key in (None, "Y"):
        data = import_mat(RAW / "mat" / "synthetic3d.mat", labels_key=labels_key)
        assert (data.n_samples, data.view_dims, data.n_clusters) == (600, [3, 3, 3], 3)


@needs_real
def test_prepare_and_validate_via_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MVBENCH_RAW_DIR", str(RAW))
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    for name in ("cub10", "bdgp", "3sources"):
        result = runner.invoke(cli, ["datasets", "prepare", name])
        assert result.exit_code == 0, result.output
        result = runner.invoke(cli, ["datasets", "validate", str(tmp_path / f"{name}.h5")])
        assert result.exit_code == 0 and "valid" in result.output
        data = store.load(tmp_path / f"{name}.h5")
        assert (data.n_samples, data.view_dims, data.n_clusters) == REAL[name]
        assert data.card.citation and data.card.extra["raw_sha256"] and "raw.githubusercontent.com" in data.card.source
    assert store.load(tmp_path / "cub10.h5").view_names == ["image", "text"]
    # a raw file with the wrong checksum is refused
    result = runner.invoke(cli, ["datasets", "prepare", "orl", "--raw", str(RAW / "mat" / "3sources.mat")])
    assert isinstance(result.exception, DataValidationError) and "sha256" in str(result.exception)
    # the generic importer command
    result = runner.invoke(
        cli, ["datasets", "import", str(RAW / "mat" / "wikipedia.mat"), "--name", "wiki", "--view-names", "image,text"]
    )
    assert result.exit_code == 0, result.output
    assert store.validate_file(tmp_path / "wiki.h5").view_names == ["image", "text"]


PROTOCOL_FILES = {  # name: (n, view names, view dims, K)
    "scene15": (4485, ["gist", "lbp", "phog"], [20, 59, 40], 15),
    "mnist_usps": (5000, ["mnist", "usps"], [784, 784], 10),
    "bdgp2v": (2500, ["visual", "textual"], [1750, 79], 5),
    "synthetic3d": (600, ["view0", "view1", "view2"], [3, 3, 3], 3),
}


@needs_real
def test_protocol_files_prepare_as_registered_sets(tmp_path, monkeypatch):
    monkeypatch.setenv("MVBENCH_RAW_DIR", str(RAW))
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    for name, (n, names, dims, k) in PROTOCOL_FILES.items():
        result = runner.invoke(cli, ["datasets", "prepare", name])
        assert result.exit_code == 0, result.output
        data = store.load(tmp_path / f"{name}.h5")
        assert (data.n_samples, data.view_names, data.view_dims, data.n_clusters) == (n, names, dims, k)
        assert data.mask.all() and sorted(set(data.labels.tolist())) == list(range(k))


def test_missing_raw_file_hint(tmp_path, monkeypatch):
    from mvbench.data.sources import DataPaths, DatasetUnavailableError, prepare

    monkeypatch.setenv("MVBENCH_RAW_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path))
    with pytest.raises(
        DatasetUnavailableError,
        match=r"raw.githubusercontent.com.*mvbench datasets prepare handwritten --raw FILE.*MVBENCH_RAW_DIR",
    ):
        prepare("handwritten", DataPaths.resolve())
