"""``normalization`` (one setting for every method): the ``auto`` choice and the observed-rows rule."""

from __future__ import annotations

import numpy as np
import pytest

from mvbench.data.preprocessing import is_count_view, normalize_view


def test_auto_is_tfidf_l2_for_counts_and_zscore_otherwise():
    counts = np.array([[2, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 3]], dtype=np.float32)
    dense = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    assert is_count_view(counts) and not is_count_view(dense) and not is_count_view(-counts)
    np.testing.assert_array_equal(normalize_view(counts, "auto"), normalize_view(counts, "tfidf_l2"))
    np.testing.assert_array_equal(normalize_view(dense, "auto"), [[-1.0, -1.0], [1.0, 1.0]])
    # row 1 of the counts: tf 1 in a term seen by 1 of 4 rows -> a unit vector on that term
    np.testing.assert_allclose(normalize_view(counts, "auto")[1], [0.0, 1.0, 0.0])


def test_statistics_come_from_observed_rows_and_missing_rows_are_zero():
    x = np.array([[1.0], [3.0], [100.0]], dtype=np.float32)
    out = normalize_view(x, "zscore", np.array([True, True, False]))
    np.testing.assert_array_equal(out[:, 0], [-1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="use auto, none"):
        normalize_view(x, "log")  # type: ignore[arg-type]
