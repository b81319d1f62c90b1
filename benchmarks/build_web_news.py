"""Build ``web_news`` from its raw images and texts; print build time, peak memory and a K-means ACC per view.

Usage (from a scratch folder, raw data under $MVBENCH_RAW_DIR/web_news):
    python benchmarks/build_web_news.py [--limit N] [--param KEY=VALUE ...]

The feature cache is disabled so the timing covers the full extraction; ``--limit N`` builds only the
first N records (to estimate the full run).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from sklearn.cluster import KMeans

from mvbench.config import build_config
from mvbench.data import DatasetCard, store
from mvbench.data.preprocessing import normalize_view
from mvbench.data.sources import DataPaths
from mvbench.datasets.web_news import WebNews, web_news_records
from mvbench.features.builder import build_image_text
from mvbench.metrics import evaluate


def kmeans_scores(x: np.ndarray, y: np.ndarray, k: int, seeds: int = 5) -> dict[str, float]:
    """Mean ACC/NMI/ARI of K-means (10 restarts) over ``seeds`` seeds."""
    runs = [evaluate(y, KMeans(k, n_init=10, random_state=s).fit_predict(x)) for s in range(seeds)]
    return {m: float(np.mean([r[m] for r in runs])) for m in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--param", action="append", default=[])
    args = ap.parse_args()
    raw = args.raw or DataPaths.resolve().raw_dir / "web_news"
    params = {k: yaml.safe_load(v) for k, _, v in (p.partition("=") for p in args.param)}
    config = build_config(WebNews.Config, {**params, "cache": False}, owner="web_news")
    t0 = time.perf_counter()
    records = web_news_records(raw)[: args.limit]
    data = build_image_text(records, DatasetCard(name="web_news"), config.choice())
    data.validate()
    with tempfile.TemporaryDirectory() as tmp:
        store.save(data, Path(tmp) / "web_news.h5")
    seconds = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"records {len(records)}  n {data.n_samples}  views {dict(zip(data.view_names, data.view_dims))}  "
        f"observed {data.mask.sum(axis=0).tolist()}  K {data.n_clusters}"
    )
    print(
        f"build time {seconds:.1f} s  peak RSS {peak_mib:.0f} MiB  (image {config.image_encoder}, "
        f"text {config.text_encoder})"
    )
    k = data.n_clusters
    for v, name in enumerate(data.view_names):
        rows = data.mask[:, v]
        for norm in ("zscore", "l2"):
            x = normalize_view(data.view(v)[rows], norm)
            s = kmeans_scores(x, data.labels[rows], k)
            print(
                f"K-means on view {name:5s} ({norm}, {rows.sum()} observed rows): "
                f"ACC {s['acc']:.3f}  NMI {s['nmi']:.3f}  ARI {s['ari']:.3f}"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
