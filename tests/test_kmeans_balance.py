"""km_concat's balance_views: every normalised view enters the concatenation with unit total variance."""
import numpy as np

from mvbench.data import MultiViewDataset
from mvbench.methods.kmeans import KMeansConcat


def test_balanced_views_have_unit_total_variance_and_small_views_count():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    informative = (labels[:, None] * 6.0 + rng.standard_normal((60, 2))).astype(np.float32)  # 2-d, separates
    noise = rng.standard_normal((60, 200)).astype(np.float32)                                # 200-d, no signal
    data = MultiViewDataset([informative, noise], ["small", "big"], labels=labels)
    balanced = KMeansConcat(n_init=3).fit_predict(data, 2, seed=0)
    emb = balanced.embedding
    np.testing.assert_allclose([emb[:, :2].var(axis=0).sum(), emb[:, 2:].var(axis=0).sum()], [1.0, 1.0], rtol=1e-4)
    assert max(np.mean(balanced.labels == labels), np.mean(balanced.labels != labels)) == 1.0
    plain = KMeansConcat(n_init=3, balance_views=False).fit_predict(data, 2, seed=0)
    np.testing.assert_allclose(plain.embedding[:, 2:].var(axis=0).sum(), 200.0, rtol=1e-4)
