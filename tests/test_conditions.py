import numpy as np
import pytest
from conftest import blobs

from mvbench.data.conditions import Condition, ConditionError, derive_seed, missing_mask


def test_rates_outside_unit_interval_are_rejected():
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ConditionError, match="outside"):
            Condition(missing_rate=bad)
    with pytest.raises(ConditionError, match="whole number"):
        Condition(subsample=2.5)


def test_missing_rate_removes_exactly_that_fraction_never_all_views():
    mask = np.ones((200, 3), bool)
    new = missing_mask(mask, 0.3, None, seed=1)
    incomplete = ~new.all(axis=1)
    assert incomplete.sum() == 60
    assert (new.sum(axis=1) >= 2).all()  # one view removed from each incomplete sample
    assert new.any(axis=1).all()


def test_selected_view_is_the_one_removed_and_rates_nest():
    mask = np.ones((100, 2), bool)
    low = missing_mask(mask, 0.2, 1, seed=7)
    high = missing_mask(mask, 0.5, 1, seed=7)
    assert low[:, 0].all() and (~low[:, 1]).sum() == 20
    assert ((~low) <= (~high)).all()  # what is missing at 0.2 is missing at 0.5


def test_natural_missing_views_are_kept_and_never_emptied():
    mask = np.ones((50, 2), bool)
    mask[:30, 1] = False  # 30 samples already lack view 1
    new = missing_mask(mask, 0.4, None, seed=3)
    assert not new[:30, 1].any() and new[:30, 0].all()
    with pytest.raises(ConditionError, match="lower --missing-rate"):
        missing_mask(mask, 0.5, None, seed=3)


def test_condition_is_deterministic_and_independent_of_the_method():
    data = blobs(n=120)
    a = Condition(0.3, "v1").apply(data, repetition=2)
    b = Condition(0.3, "v1").apply(data, repetition=2)
    c = Condition(0.3, "v1").apply(data, repetition=3)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.mask, c.mask)
    assert not a.view(1)[~a.mask[:, 1]].any()


def test_subsample_is_per_class_and_nested():
    data = blobs(n=300, k=3)
    half = Condition(subsample=0.5).apply(data, 0)
    tenth = Condition(subsample=0.1).apply(data, 0)
    assert np.bincount(half.labels).tolist() == [50, 50, 50]
    assert np.bincount(tenth.labels).tolist() == [10, 10, 10]
    assert set(tenth.ids) <= set(half.ids)
    count = Condition(subsample=7).apply(data, 0)
    assert np.bincount(count.labels).tolist() == [7, 7, 7]


def test_derive_seed_is_stable():
    assert derive_seed("digits", "x", 0) == derive_seed("digits", "x", 0)
    assert derive_seed("digits", "x", 0) != derive_seed("digits", "x", 1)
    assert 0 <= derive_seed("a") < 2**32
