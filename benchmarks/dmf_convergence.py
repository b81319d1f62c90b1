"""DMF-MVC convergence figures (benchmarks/baselines_matrix.md), seed 0 per dataset and dtype:

- the relative change of the objective at the reference's 100-iteration cap;
- the iteration at which ``|change| <= tol * objective`` (tol 1e-5) stops a run capped at ``--cap``;
- how often the objective rose (never, for the Z/H steps, up to round-off);
- ACC at 100 iterations and at the stop;
- at the stop, in float32, how far the expanded residual ||X||^2 - 2 <Psi^T X, H> + <Psi^T Psi H, H>
  (float32 products) is from the explicit ||X - Psi H||^2 that the method sums.

    OMP_NUM_THREADS=1 python benchmarks/dmf_convergence.py msrc_v1 cub10 bbcsport --dtypes float32,float64

``--implementation FILE`` runs another version of ``methods/dmf_mvc.py`` (e.g. ``git show
b3de660:methods/dmf_mvc.py > /tmp/dmf_old.py``, with ``--no-probe``; ``--tol 0`` runs the whole cap).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time

import numpy as np

from mvbench.data import sources, store
from mvbench.methods.dmf_mvc import DMFMVC
from mvbench.metrics import evaluate


class Probe(DMFMVC):
    """DMF-MVC recording, per view, the explicit and the expanded residual of the last iteration."""

    last: list[tuple[float, float]]

    def _view_loss(self, x, psi, h_m, graph, degree):
        loss = super()._view_loss(x, psi, h_m, graph, degree)
        residual = x - psi @ h_m
        explicit = float(np.einsum("ij,ij->", residual, residual, dtype=np.float64))
        px, pp = (psi.T @ x).astype(np.float64), (psi.T @ psi).astype(np.float64)
        h = h_m.astype(np.float64)
        expanded = (
            float(np.einsum("ij,ij->", x, x, dtype=np.float64))
            - 2.0 * float((px * h).sum())
            + float((h * (pp @ h)).sum())
        )
        self.last = (getattr(self, "last", []) + [(explicit, expanded)])[-len(self._views) :]
        return loss

    def fit_predict(self, data, n_clusters, seed):
        self._views = range(data.n_views)
        return super().fit_predict(data, n_clusters, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--cap", type=int, default=3000)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument("--no-probe", action="store_true", help="skip the expanded-residual comparison")
    parser.add_argument("--implementation", help="another dmf_mvc.py to run instead of the installed one")
    args = parser.parse_args()
    method = DMFMVC
    if args.implementation:
        spec = importlib.util.spec_from_file_location("mvbench.methods._dmf_mvc_other", args.implementation)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        method = module.DMFMVC
    for name in args.datasets:
        data = store.load(sources.prepare(name, sources.DataPaths.resolve()))
        k = data.n_clusters
        for dtype in args.dtypes.split(","):
            start = time.perf_counter()
            short = method(dtype=dtype).fit_predict(data, k, 0)
            t_short = time.perf_counter() - start
            start = time.perf_counter()
            probe = (method if args.no_probe else Probe)(dtype=dtype, max_iter=args.cap, tol=args.tol)
            long = probe.fit_predict(data, k, 0)
            t_long = time.perf_counter() - start
            values = np.array([row["objective_reweighted"] for row in long.history])
            change = np.diff(values) / values[:-1]
            gap = "n/a"
            if not args.no_probe:
                explicit, expanded = (sum(p[i] for p in probe.last) for i in (0, 1))
                gap = f"{abs(expanded - explicit) / explicit:.1e}"
            print(
                f"{name} {dtype}: change at it 100 {abs(change[98]):.1e}; stopped at it "
                f"{long.info['iterations']:.0f} (converged {long.info['converged']:.0f}); objective rose "
                f"{int((change > 0).sum())} times; ACC it 100 {evaluate(data.labels, short.labels)['acc']:.3f} "
                f"[{t_short:.0f} s], at stop {evaluate(data.labels, long.labels)['acc']:.3f} [{t_long:.0f} s]; "
                f"expanded vs explicit residual at stop: {gap}",
                flush=True,
            )


if __name__ == "__main__":
    main()
