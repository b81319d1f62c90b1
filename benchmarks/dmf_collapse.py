"""DMF-MVC's one-cluster collapse on K = 4 class subsets (benchmarks/baselines_matrix.md).

For each subset and seed: ACC / NMI, the share of the largest predicted cluster and the number of
connected components of the read-out 5-NN graph of H_m (``info["graph_components"]``), for
DMF-MVC with the k-means and the reference SVD+LP pretraining start, beside K-means on the
concatenated views (z-scored and L2). Seed 0 also reports the components right after pretraining
(``max_iter=1``). Needs the prepared ``reuters1200`` and ``bbcsport`` (MVBENCH_DATA_DIR / RAW_DIR).

    OMP_NUM_THREADS=1 python benchmarks/dmf_collapse.py [--seeds 5]
"""

from __future__ import annotations

import argparse

import numpy as np

from mvbench.data import sources, store
from mvbench.methods.dmf_mvc import DMFMVC
from mvbench.methods.kmeans import KMeansConcat
from mvbench.metrics import evaluate

SUBSETS = {"reuters1200": [0, 1, 2, 3], "bbcsport": [0, 1, 2, 3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    methods = {
        "dmf_mvc init=kmeans": lambda: DMFMVC(init="kmeans"),
        "dmf_mvc init=svd_lp": lambda: DMFMVC(init="svd_lp"),
        "km_concat zscore": lambda: KMeansConcat(normalization="zscore"),
        "km_concat l2": lambda: KMeansConcat(normalization="l2"),
    }
    for name, classes in SUBSETS.items():
        full = store.load(sources.prepare(name, sources.DataPaths.resolve()))
        data = full.subset(np.flatnonzero(np.isin(full.labels, classes)))
        k = len(classes)
        print(
            f"## {name} classes {classes}: n = {data.n_samples}, K = {k}, class shares "
            f"{np.round(np.bincount(data.labels) / data.n_samples, 2).tolist()}"
        )
        for init in ("kmeans", "svd_lp"):
            info = DMFMVC(init=init, max_iter=1).fit_predict(data, k, 0).info
            print(f"  after pretraining (init={init}, seed 0): {info['graph_components']:.0f} graph components")
        for label, make in methods.items():
            rows = []
            for seed in range(args.seeds):
                result = make().fit_predict(data, k, seed)
                scores = evaluate(data.labels, result.labels)
                share = np.bincount(result.labels, minlength=k).max() / data.n_samples
                rows.append((scores["acc"], scores["nmi"], share, result.info.get("graph_components", np.nan)))
            a = np.array(rows)
            print(
                f"  {label:22s} ACC {a[:, 0].mean():.3f} ± {a[:, 0].std():.3f}  NMI {a[:, 1].mean():.3f}  "
                f"largest cluster {a[:, 2].mean():.2f} (max {a[:, 2].max():.2f})  "
                f"graph components {np.nanmean(a[:, 3]) if not np.isnan(a[:, 3]).all() else float('nan'):.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
