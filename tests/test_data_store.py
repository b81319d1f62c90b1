import h5py
import numpy as np
import pytest
from conftest import blobs

from mvbench.data import DataValidationError, MultiViewDataset, encode_labels, store


def test_roundtrip_keeps_everything_and_reads_lazily(tmp_path):
    data = blobs()
    data.mask[3, 1] = False
    data = data.with_mask(data.mask)
    path = store.save(data, tmp_path / "d.h5")
    loaded = store.load(path)
    assert loaded.view_names == data.view_names and loaded.view_dims == [4, 6]
    assert isinstance(loaded._views, store.LazyViews) and not loaded._views._cache
    np.testing.assert_array_equal(loaded.view(1), data.view(1))
    assert set(loaded._views._cache) == {1}
    np.testing.assert_array_equal(loaded.mask, data.mask)
    np.testing.assert_array_equal(loaded.labels, data.labels)
    assert list(loaded.ids) == list(data.ids)
    assert loaded.card.sha256 == data.content_sha256() == loaded.content_sha256()
    assert store.validate_file(path).n_samples == 90


def test_views_are_chunked_and_compressed(tmp_path):
    path = store.save(blobs(), tmp_path / "d.h5")
    with h5py.File(path) as f:
        assert f["views/v0"].compression == "gzip" and f["views/v0"].chunks is not None
        assert f.attrs["mvbench_schema"] == store.SCHEMA_VERSION


def test_unobserved_rows_are_zeroed_by_with_mask():
    data = blobs()
    mask = data.mask.copy()
    mask[:10, 0] = False
    masked = data.with_mask(mask)
    assert not masked.view(0)[:10].any() and masked.view(0)[10:].any()
    assert data.view(0)[:10].any()  # the original is untouched


@pytest.mark.parametrize(
    "breaker, message",
    [
        (lambda d: MultiViewDataset([d.view(0), d.view(1)[:-1]], d.view_names, labels=d.labels), "rows"),
        (lambda d: _with_nan(d), "NaN or Inf"),
        (lambda d: MultiViewDataset(d.views, d.view_names, np.zeros((90, 2), bool), d.labels), "no observed view"),
        (lambda d: MultiViewDataset(d.views, d.view_names, labels=d.labels[:-3]), "labels have length"),
    ],
)
def test_validation_rejects_broken_data(breaker, message, tmp_path):
    with pytest.raises(DataValidationError, match=message):
        breaker(blobs()).validate()


def _with_nan(d):
    x = d.view(0).copy()
    x[5, 2] = np.nan
    return MultiViewDataset([x, d.view(1)], d.view_names, labels=d.labels)


def test_nan_in_unobserved_rows_is_allowed():
    d = blobs()
    x = d.view(0).copy()
    x[5] = np.nan
    mask = d.mask.copy()
    mask[5, 0] = False
    MultiViewDataset([x, d.view(1)], d.view_names, mask, d.labels).validate()


def test_validate_file_rejects_unknown_schema_and_tampering(tmp_path):
    path = store.save(blobs(), tmp_path / "d.h5")
    with h5py.File(path, "a") as f:
        f["views/v0"][0, 0] += 1.0
    with pytest.raises(DataValidationError, match="sha256"):
        store.validate_file(path)
    with h5py.File(path, "a") as f:
        f.attrs["mvbench_schema"] = 99
    with pytest.raises(DataValidationError, match="schema version 99"):
        store.validate_file(path)
    with pytest.raises(DataValidationError, match="does not exist"):
        store.validate_file(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(DataValidationError, match="not a readable"):
        store.validate_file(tmp_path / "junk.h5")


def test_failed_write_never_replaces_a_good_file(tmp_path):
    tmp_path = tmp_path / "store"
    tmp_path.mkdir()
    path = store.save(blobs(), tmp_path / "d.h5")
    before = path.read_bytes()
    bad = blobs()
    bad.labels = bad.labels[:5]
    with pytest.raises(DataValidationError):
        store.save(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.h5"]


def test_encode_labels_maps_to_consecutive_codes():
    codes, names = encode_labels(["b", "a", "b", "c"])
    assert codes.tolist() == [1, 0, 1, 2] and names == ["a", "b", "c"]
