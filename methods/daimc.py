"""``daimc``: Doubly Aligned Incomplete Multi-view Clustering (DAIMC).

Hu & Chen, "Doubly aligned incomplete multi-view clustering", IJCAI 2018. Reference code:
DarrenZZhang/TSCMA23-Survey_IMC, folder DAIMC (MATLAB); defaults and schedule follow it.

Objective (X^v is d_v x n with samples as columns, U^v d_v x K, V n x K >= 0 shared, B^v d_v x K,
W^v = diag(m^v) the presence indicator of view v — applied here as a row mask, never as a matrix):

    sum_v ||(X^v - U^v V^T) W^v||_F^2 + alpha (||B^vT U^v - I||_F^2 + beta ||B^v||_{2,1})

Updates per outer iteration (the reference's order):

- U^v: the stationarity condition  alpha B^v B^vT U + U (V^T W^v V) = X^v W^v V + alpha B^v  is a
  Sylvester equation. It is solved exactly through the eigen-decomposition V^T W^v V = P diag(l) P^T:
  each column of U P solves (l_j I + alpha B^v B^vT) y = (rhs P)_j, inverted by the Woodbury identity
  since B^v B^vT has rank <= K (O(d K^2) instead of the O(d^3) Schur method; the test suite checks
  it against ``scipy.linalg.solve_sylvester``).
- V: multiplicative semi-NMF updates (Ding, Li, Jordan 2010) with the mask,
  V <- V * sqrt((sum_v W^v [(X^vT U^v)^+ + V (U^vT U^v)^-]) / (sum_v W^v [(X^vT U^v)^- + V (U^vT U^v)^+])),
  at most 30 inner steps, stopped at relative change < 1e-4 of the reconstruction term.
- Rescale: Q = diag(1^T V); V <- V Q^-1, U^v <- U^v Q (the product U V^T is unchanged).
- B^v: closed form of the reweighted (IRLS) l2,1 problem, B^v = (U^v U^vT + beta/2 D^v)^-1 U^v with
  D^v = diag(1 / sqrt(||b_k||^2 + eta)), eta = 1e-10, via Woodbury; then D^v is refreshed.
- Objective recorded after every outer iteration (with sqrt(||b_k||^2 + eta) for the l2,1 norm);
  stop when its relative change < tol (1e-4) or after ``max_iter`` (30) iterations.

Input: every observed sample of every view is scaled to unit L2 norm (``NormalizeFea``).
Initialisation (reference ``newinit``): per view, missing samples are replaced by the mean of the
observed ones; K-means on the view gives centres C and labels; U^v = C^T + 0.1, H^v = onehot + 0.1;
V = mean_v H^v; the rescale above; B^v = (U^v U^vT + 1e-5 I)^-1 U^v. Labels: K-means on V.

Deviations, with reasons: K-means (initialisation: 20 restarts as ``litekmeans`` 'Replicates' 20;
read-out: ``n_init`` restarts instead of MATLAB's single run) uses scikit-learn's k-means++ seeding
from the ``seed`` argument. The non-increase of the objective is guaranteed by every step except
the rescale, which leaves the reconstruction term unchanged but may raise alpha ||B^T U - I||^2
slightly (the reference has the same schedule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints
from mvbench.data import MultiViewDataset
from mvbench.method import Capabilities, FitResult, Method

_ETA = 1e-10


@dataclass
class DAIMCConfig:
    alpha: float = 1e-4
    beta: float = 1e4
    max_iter: int = 30
    tol: float = 1e-4
    max_inner_iter: int = 30
    init_restarts: int = 20
    n_init: int = 10

    constraints: ClassVar[Constraints] = {
        "alpha": POSITIVE,
        "beta": POSITIVE,
        "max_iter": AT_LEAST_ONE,
        "max_inner_iter": AT_LEAST_ONE,
        "init_restarts": AT_LEAST_ONE,
        "n_init": AT_LEAST_ONE,
        "tol": NON_NEGATIVE,
    }


def l2_rows(x: np.ndarray) -> np.ndarray:
    """Scale each row to unit Euclidean norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def solve_u(b: np.ndarray, vtwv: np.ndarray, rhs: np.ndarray, alpha: float) -> np.ndarray:
    """Solve alpha B B^T U + U M = R for U (M symmetric positive definite, B d x K low rank)."""
    lam, p = np.linalg.eigh(vtwv)
    rp = rhs @ p
    btb = b.T @ b
    bt_rp = b.T @ rp
    y = np.empty_like(rp)
    eye = np.eye(b.shape[1])
    for j, lam_j in enumerate(lam):
        inner = np.linalg.solve(lam_j * eye + alpha * btb, bt_rp[:, j])
        y[:, j] = (rp[:, j] - alpha * (b @ inner)) / lam_j
    return y @ p.T


def solve_b(u: np.ndarray, d_diag: np.ndarray, beta: float) -> np.ndarray:
    """B = (U U^T + beta/2 diag(d))^-1 U by the Woodbury identity."""
    inv_d = 1.0 / (0.5 * beta * d_diag)
    du = inv_d[:, None] * u
    core = np.linalg.solve(u.T @ du + np.eye(u.shape[1]), u.T @ du)
    return du - du @ core


def reweight(b: np.ndarray) -> np.ndarray:
    """IRLS weights of the l2,1 norm: 1 / sqrt(||b_k||^2 + eta) per row."""
    return 1.0 / np.sqrt(np.einsum("ij,ij->i", b, b) + _ETA)


def reconstruction(xs: list[np.ndarray], masks: list[np.ndarray], us: list[np.ndarray], v: np.ndarray) -> float:
    """sum_v ||(X^v - U^v V^T) W^v||^2 with X^v stored n x d (rows = samples)."""
    return float(sum(((x - v @ u.T)[m] ** 2).sum() for x, m, u in zip(xs, masks, us)))


def update_v(
    xs: list[np.ndarray], masks: list[np.ndarray], us: list[np.ndarray], v: np.ndarray, max_iter: int, tol: float
) -> np.ndarray:
    """Masked multiplicative semi-NMF updates of V (module doc).

    The inner stopping rule needs the reconstruction after every step; it is expanded as
    ||X_m||^2 - 2 <X_m U, V_m> + <U^T U, V_m^T V_m> so that a step costs O(n K^2), not O(n d K).
    """
    xus = [m[:, None] * (x @ u) for x, m, u in zip(xs, masks, us)]
    uus = [u.T @ u for u in us]
    x_norms = sum(float((x[m] ** 2).sum()) for x, m in zip(xs, masks))
    xu_pos = sum((np.abs(xu) + xu) / 2 for xu in xus)
    xu_neg = sum((np.abs(xu) - xu) / 2 for xu in xus)
    uu_pos = [(np.abs(uu) + uu) / 2 for uu in uus]
    uu_neg = [(np.abs(uu) - uu) / 2 for uu in uus]
    previous = 0.0
    for _ in range(max_iter):
        vuu_pos = sum(m[:, None] * (v @ p) for p, m in zip(uu_pos, masks))
        vuu_neg = sum(m[:, None] * (v @ q) for q, m in zip(uu_neg, masks))
        v = v * np.sqrt((xu_pos + vuu_neg) / np.maximum(xu_neg + vuu_pos, 1e-10))
        current = x_norms + sum(
            float(np.vdot(uu, v[m].T @ v[m])) - 2.0 * float(np.vdot(xu, v)) for xu, uu, m in zip(xus, uus, masks)
        )
        if previous > 0 and abs(current - previous) / previous < tol:
            break
        previous = current
    return v


class DAIMC(Method):
    """DAIMC (Hu & Chen, IJCAI 2018): masked semi-NMF with a shared non-negative V and l2,1
    regression alignment of the bases, for incomplete views. Formulas and deviations: module doc."""

    name = "daimc"
    Config = DAIMCConfig
    capabilities = Capabilities(handles_missing=True, min_views=1)
    quick_params = {"max_iter": 10, "init_restarts": 3, "n_init": 3}

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        from sklearn.cluster import KMeans

        cfg, k = self.config, n_clusters
        rng = np.random.default_rng(seed)
        masks = [np.asarray(data.mask[:, v], dtype=bool) for v in range(data.n_views)]
        if not np.logical_or.reduce(masks).all():
            raise ValueError("a sample is observed in no view; drop it before clustering")
        xs = []
        for v, m in enumerate(masks):
            x = np.zeros((data.n_samples, data.view_dims[v]))
            x[m] = l2_rows(np.asarray(data.view(v), dtype=np.float64)[m])
            xs.append(x)
        us, v_mat, bs = self._initialise(xs, masks, k, rng)
        ds = [reweight(b) for b in bs]
        history, previous = [], 0.0
        converged = False
        for _ in self.context.track(range(cfg.max_iter), total=cfg.max_iter, description="daimc"):
            for i, (x, m) in enumerate(zip(xs, masks)):
                vm = v_mat[m]
                us[i] = solve_u(bs[i], vm.T @ vm, x[m].T @ vm + cfg.alpha * bs[i], cfg.alpha)
            v_mat = update_v(xs, masks, us, v_mat, cfg.max_inner_iter, cfg.tol)
            scale = v_mat.sum(axis=0)
            v_mat = v_mat / scale
            for i in range(len(us)):
                us[i] = us[i] * scale
                bs[i] = solve_b(us[i], ds[i], cfg.beta)
                ds[i] = reweight(bs[i])
            terms = self._objective(xs, masks, us, v_mat, bs, ds)
            history.append(terms)
            objective = terms["objective"]
            if previous > 0 and abs(objective - previous) / previous < cfg.tol:
                converged = True
                break
            previous = objective
        km = KMeans(n_clusters=k, n_init=cfg.n_init, random_state=int(rng.integers(2**31 - 1)))
        labels = km.fit_predict(v_mat).astype(np.int64)
        info = {"iterations": float(len(history)), "max_iterations": float(cfg.max_iter), "converged": float(converged)}
        return FitResult(labels=labels, history=history, info=info)

    def _initialise(
        self, xs: list[np.ndarray], masks: list[np.ndarray], k: int, rng: np.random.Generator
    ) -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray]]:
        """Reference ``newinit``: per-view K-means on mean-filled views (module doc)."""
        from sklearn.cluster import KMeans

        n = len(xs[0])
        us, h_sum = [], np.zeros((n, k))
        for x, m in zip(xs, masks):
            filled = np.where(m[:, None], x, x[m].mean(axis=0))
            km = KMeans(n_clusters=k, n_init=self.config.init_restarts, random_state=int(rng.integers(2**31 - 1)))
            assign = km.fit_predict(filled)
            us.append(km.cluster_centers_.T + 0.1)
            h_sum += np.eye(k)[assign] + 0.1
        v_mat = h_sum / len(xs)
        scale = v_mat.sum(axis=0)
        v_mat = v_mat / scale
        us = [u * scale for u in us]
        bs = [u @ np.linalg.inv(u.T @ u + 1e-5 * np.eye(k)) for u in us]
        return us, v_mat, bs

    def _objective(self, xs, masks, us, v_mat, bs, ds) -> dict[str, float]:
        recon = reconstruction(xs, masks, us, v_mat)
        eye = np.eye(v_mat.shape[1])
        align = sum(float(((b.T @ u - eye) ** 2).sum()) for b, u in zip(bs, us))
        sparsity = sum(float((1.0 / d).sum()) for d in ds)
        alpha, beta = self.config.alpha, self.config.beta
        return {
            "objective": recon + alpha * (align + beta * sparsity),
            "reconstruction": recon,
            "alignment": align,
            "l21": sparsity,
        }
