"""K-means ACC of the Pascal Sentences text view with each text encoder (real captions, 1000 images).

Usage: MVBENCH_RAW_DIR=/path/to/shared/data python benchmarks/pascal_text_views.py
K-means with 10 restarts, mean ACC over 3 seeds, after z-scoring or L2-normalising the rows.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from mvbench.data import encode_labels
from mvbench.data.preprocessing import normalize_view
from mvbench.data.sources import DataPaths
from mvbench.datasets.pascal import pascal_records
from mvbench.features.text import TEXT_ENCODERS, TextParams, encode_texts
from mvbench.metrics import clustering_accuracy


def main() -> None:
    records = pascal_records(DataPaths.resolve().raw_dir / "pascal_sentences")
    docs = [" ".join(r.captions) for r in records]
    y, names = encode_labels([r.label for r in records])
    for encoder in TEXT_ENCODERS:
        x = encode_texts(docs, encoder, TextParams())
        for norm in ("zscore", "l2"):
            z = normalize_view(x, norm)
            acc = np.mean(
                [clustering_accuracy(y, KMeans(len(names), n_init=10, random_state=s).fit_predict(z)) for s in range(3)]
            )
            print(f"{encoder:10s} {x.shape[1]:4d}-d  {norm:6s}  ACC {acc:.3f}")


if __name__ == "__main__":
    main()
