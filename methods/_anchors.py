"""Pieces shared by the anchor-graph methods (``lmvsc``, ``smvsc``): Euclidean projection of rows onto
the probability simplex, the simplex-constrained least squares of an anchor graph, and K-means
anchors. Every array here is n x m or smaller (m anchors), never n x n.
"""

from __future__ import annotations

import numpy as np

#: rows per block in the anchor-graph solver (bounds its workspace at a few block x m arrays)
BLOCK = 65536


def project_simplex(v: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean projection onto {z >= 0, sum z = 1} (Michelot's fixed point).

    The threshold tau of ``max(v - tau, 0)`` is found by tau <- (sum_{v_i > tau} v_i - 1) / #{v_i > tau},
    started at (sum v - 1) / m; tau increases monotonically and is exact once the active set stops
    changing (at most m steps, a handful in practice). Each step is one vectorised pass: no sort.
    """
    v = np.asarray(v, dtype=np.float64)
    m = v.shape[1]
    tau = (v.sum(axis=1) - 1.0) / m
    for _ in range(m):
        active = v > tau[:, None]
        count = active.sum(axis=1)
        new_tau = (np.where(active, v, 0.0).sum(axis=1) - 1.0) / np.maximum(count, 1)
        if np.array_equal(new_tau, tau):
            break
        tau = new_tau
    return np.maximum(v - tau[:, None], 0.0)


def simplex_ridge(
    x: np.ndarray, anchors: np.ndarray, alpha: float, max_iter: int = 500, tol: float = 1e-6, polish_every: int = 20
) -> tuple[np.ndarray, int]:
    """Rows z_i of argmin ||x_i - z_i A||^2 + alpha ||z_i||^2 s.t. z_i >= 0, sum z_i = 1 (A: m x d).

    LMVSC's per-sample quadratic program, solved for all samples at once in blocks of :data:`BLOCK`
    rows. On the simplex ``z A = a_bar + z (A - 1 a_bar)``, so anchors and samples are first centred on
    the anchor mean (the same problem, a far smaller Lipschitz constant). Accelerated projected
    gradient (FISTA with per-row gradient restart) identifies each row's support; every
    ``polish_every`` steps the equality-constrained problem on the current support is solved exactly
    (:func:`support_kkt`) and rows whose solution meets all KKT conditions are final (the exact
    minimiser, as an active-set QP solver returns). Rows still open after ``max_iter`` steps, or moving
    by at most ``tol``, keep the FISTA iterate. Returns ``(Z (n x m, float32), most steps any block took)``.
    """
    anchors = np.asarray(anchors, dtype=np.float64)
    m = anchors.shape[0]
    centre = anchors.mean(axis=0)
    a_c = anchors - centre
    hessian = a_c @ a_c.T + alpha * np.eye(m)  # half the QP's Hessian
    step = 1.0 / np.linalg.eigvalsh(hessian)[-1]
    out = np.empty((x.shape[0], m), dtype=np.float32)
    worst = 0
    for start in range(0, x.shape[0], BLOCK):
        xb = np.asarray(x[start : start + BLOCK], dtype=np.float64) - centre
        linear = xb @ a_c.T  # (x - a_bar) (A - 1 a_bar)^T
        rows = np.arange(len(xb)) + start
        z = np.full((len(xb), m), 1.0 / m)
        y, t = z.copy(), np.ones((len(xb), 1))
        iterations = 0
        for iterations in range(1, max_iter + 1):
            z_new = project_simplex(y - step * (y @ hessian - linear))
            restart = np.einsum("ij,ij->i", y - z_new, z_new - z) > 0  # momentum points uphill
            t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
            still = np.abs(z_new - z).max(axis=1) > tol
            y = z_new + ((t - 1.0) / t_new) * (z_new - z)
            y[restart], t_new[restart] = z_new[restart], 1.0
            z, t = z_new, t_new
            if iterations % polish_every == 0 or not still.any():
                exact, ok = support_kkt(hessian, linear, z > 0)
                z[ok] = exact[ok]
                done = ok | ~still
                out[rows[done]] = z[done]
                keep = ~done
                rows, z, y, t, linear = rows[keep], z[keep], y[keep], t[keep], linear[keep]
                if not len(rows):
                    break
        out[rows] = z
        worst = max(worst, iterations)
    return out, worst


def support_kkt(q: np.ndarray, b: np.ndarray, support: np.ndarray, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Exact minimiser of z^T Q z - 2 b_i^T z over {sum z = 1, z_j = 0 off ``support[i]``}, per row,
    and whether it is optimal on the whole simplex (z >= 0 and, off the support, the multiplier of
    z_j >= 0, (Q z - b)_j + nu, is non-negative). Solves the (m + 1)-dimensional KKT systems in
    batches of ``chunk`` rows."""
    r, m = b.shape
    z = np.zeros((r, m))
    ok = np.zeros(r, dtype=bool)
    diag = np.arange(m)
    for lo in range(0, r, chunk):
        s = support[lo : lo + chunk].astype(np.float64)
        bb = b[lo : lo + chunk]
        system = np.zeros((len(s), m + 1, m + 1))
        system[:, :m, :m] = q
        system[:, :m, :m] *= s[:, :, None]
        system[:, :m, :m] *= s[:, None, :]
        system[:, diag, diag] += 1.0 - s
        system[:, :m, m] = s
        system[:, m, :m] = s
        rhs = np.concatenate([bb * s, np.ones((len(s), 1))], axis=1)
        try:
            solution = np.linalg.solve(system, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular support (alpha = 0): leave these rows to FISTA
            continue
        zz, nu = solution[:, :m], solution[:, m]
        slack = zz @ q - bb + nu[:, None]
        scale = 1e-9 * (1.0 + np.abs(bb).max(axis=1, keepdims=True))
        ok[lo : lo + chunk] = (zz >= -1e-12).all(axis=1) & ((slack >= -scale) | (s > 0)).all(axis=1)
        z[lo : lo + chunk] = np.maximum(zz, 0.0)
    return z, ok


def kmeans_anchors(x: np.ndarray, n_anchors: int, seed: int, n_init: int, max_iter: int, sample: int) -> np.ndarray:
    """K-means centres of the rows of ``x`` (m x d), fitted on at most ``sample`` rows drawn with ``seed``."""
    from sklearn.cluster import KMeans

    if n_anchors > x.shape[0]:
        raise ValueError(f"{n_anchors} anchors need at least as many samples; got {x.shape[0]}")
    rows = x
    if x.shape[0] > sample:
        pick = np.sort(np.random.default_rng(seed).choice(x.shape[0], sample, replace=False))
        rows = x[pick]
    km = KMeans(n_clusters=n_anchors, n_init=n_init, max_iter=max_iter, random_state=seed)
    return km.fit(np.asarray(rows, dtype=np.float64)).cluster_centers_


def leading_left_singular_vectors(s: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` leading left singular vectors of the tall matrix ``s`` (n x p, p small), through
    the eigen-decomposition of its p x p Gram matrix."""
    gram = np.zeros((s.shape[1], s.shape[1]))
    for start in range(0, s.shape[0], BLOCK):
        block = np.asarray(s[start : start + BLOCK], dtype=np.float64)
        gram += block.T @ block
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:k]
    sigma = np.sqrt(np.maximum(values[order], 0.0))
    right = vectors[:, order] / np.where(sigma > 0, sigma, 1.0)
    return np.concatenate([np.asarray(s[i : i + BLOCK], dtype=np.float64) @ right for i in range(0, len(s), BLOCK)])
