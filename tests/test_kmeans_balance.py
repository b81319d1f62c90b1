"""km_concat's balance_views: every normalised view enters the concatenation with unit total variance."""

import numpy as np
import pytest

from mvbench.data import MultiViewDataset
from mvbench.methods.kmeans import KMeansConcat


def test_balanced_views_have_unit_total_variance_and_small_views_count():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    informative = (labels[:, None] * 6.0 + rng.standard_normal((60, 2))).astype(np.float32)  # 2-d, separates
    noise = rng.standard_normal((60, 200)).astype(np.float32)  # 200-d, no signal
    data = MultiViewDataset([informative, noise], ["small", "big"], labels=labels)
    balanced = KMeansConcat(n_init=3).fit_predict(data, 2, seed=0)
    emb = KMeansConcat().features(data)
    np.testing.assert_allclose([emb[:, :2].var(axis=0).sum(), emb[:, 2:].var(axis=0).sum()], [1.0, 1.0], rtol=1e-4)
    assert max(np.mean(balanced.labels == labels), np.mean(balanced.labels != labels)) == 1.0
    plain = KMeansConcat(balance_views=False).features(data)
    np.testing.assert_allclose(plain[:, 2:].var(axis=0).sum(), 200.0, rtol=1e-4)


def test_views_subset_is_concatenated_in_the_order_given():
    rng = np.random.default_rng(1)
    a, b, c = (rng.standard_normal((20, d)).astype(np.float32) for d in (3, 5, 7))
    data = MultiViewDataset([a, b, c], ["a", "b", "c"])
    method = KMeansConcat(n_init=1, views="c,0")
    np.testing.assert_allclose(method.features(data)[:, 7:], KMeansConcat(views="a").features(data), rtol=1e-6)
    assert method.features(data).shape == (20, 10) and method.fit_predict(data, 2, seed=0).labels.shape == (20,)
    assert data.view_indices("all") == [0, 1, 2] and data.view_indices("b, 2") == [1, 2]
    for bad in ("a,a", "d", ""):
        with pytest.raises(ValueError, match="view"):
            data.view_indices(bad)
