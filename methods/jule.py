"""JULE, Joint Unsupervised LEarning (Yang, Parikh, Batra; CVPR 2016), on feature views.

A recurrent process alternates a forward pass (agglomerative clustering on the current representation)
and a backward pass (the representation learns from the current clusters), "partially unrolled" into
periods, until K clusters remain.

Forward pass, on features x_i whose rows of norm above 1 are scaled to norm 1 (the reference's
``renorm(2, 1, 1)``, :func:`renorm_rows`; rows already shorter stay as they are; the embedding's rows
have norm 1 anyway):

- K_s-NN graph (exact, computed in row blocks; stored as n x K_s arrays, never n x n):
  W_ij = exp(-||x_i - x_j||^2 / sigma^2) if x_j is among the K_s = 20 nearest neighbours of x_i, else 0,
  sigma^2 = the mean squared distance to those neighbours over all samples (GDL's rule with a = 1, which
  JULE adopts; the reference takes the mean of what lua-knn returns, and lua-knn returns squared
  distances: its square-root kernel is commented out, so the two agree).
- Cluster affinity (GDL's product affinity, as the paper defines it):
  A(C_i, C_j) = 1/|C_i|^2 1^T W_{Ci,Cj} W_{Cj,Ci} 1 + 1/|C_j|^2 1^T W_{Cj,Ci} W_{Ci,Cj} 1.
  With u_S(q) = sum_{p in S} W_pq and v_S(q) = sum_{r in S} W_qr, the first product is
  sum_{q in Cj} u_Ci(q) v_Ci(q); after a merge S = C_a + C_b it is recomputed exactly for S from its
  members, while 1^T W_{Cc,S} W_{S,Cc} 1 is additive in S (exact sum of the C_a and C_b terms).
- Merge criterion (the paper's), N_k the k-th most affine cluster of C_i:
  score(C_i) = A(C_i, N_1) + a / (K_c - 1) * sum_{k=2..K_c} (A(C_i, N_1) - A(C_i, N_k)), K_c = 5, a = 1;
  the pair (C_i, N_1) of highest score merges. Missing neighbours count as affinity 0. As in the
  reference code, the K_c term applies only while more than ``kc_min_clusters`` (100) clusters remain
  (set it to 0 for the paper's literal rule).
- Schedule: the first period's forward pass is the initial over-segmentation; period p > 1 merges
  min(ceil(eta * n_c), n_c - K) times (eta = 0.9), n_c the number of clusters it starts from.

Backward pass: ``epochs_per_period`` (20) epochs of Torch 7's ``optim.sgd`` as the reference calls it
(:func:`torch7_sgd`: lr 0.01 with the reference's inverse decay lr * (1 + 1e-4 t)^-0.75 over
iterations t, weight decay 5e-5 added to the gradient, momentum 0.9 with Torch 7's default dampening,
equal to the momentum: v <- 0.9 v + 0.1 g, v = g at the first step; batches of 100; a batch without
triplets still steps, applying momentum and weight decay, as Torch 7 does) on the weighted triplet
loss (in the reference code's form): for every pair (i, j), i before j, of one cluster inside a batch
and min(20, C_b - 1) distinct random negatives k from the other clusters of the batch, C_b the number
of clusters present in the batch (the reference's rule),
  L = mean max(0, gamma ||z_i - z_j||^2 - ||z_i - z_k||^2 + margin), margin 0.2, gamma 1,
on L2-normalised outputs z. The loop ends when K clusters remain (``converged``) or after
``max_epochs`` (1000); then, as in the reference code, the final labels come from a fresh forward
pass run to K clusters on the learned representation (initial over-segmentation included).

Initial over-segmentation (the paper's and reference's): every sample is linked to its nearest
neighbour and the connected components of these links are the initial clusters (GDL's rule; the
reference's chain-following walk gives the same components except that it caps a chain at 50 steps).

Unrolling rate: ``eta`` = 0.9. ``train.lua``'s default is 0.2, but its README recommends 0.2 for face
sets and 0.9 for the others (its example commands all pass ``-eta 0.9``); none of the benchmark's sets
is a face set except orl, where ``eta=0.2`` follows the README.

The reference's triplet backward (``criterions/TripletEmbedding.lua``) scales the anchor and the
positive *in place* (``a:mul(gamma - 1)``, ``p:mul(gamma)``) while computing the anchor's gradient,
then reuses them for the other two: the positive gets 2 gamma (gamma p - (gamma - 1) a) / N and the
negative 2 ((gamma - 1) a - n) / N instead of 2 gamma (p - a) / N and 2 (a - n) / N. Through the
network's final L2 normalisation (whose Jacobian removes the component along each output) what is
left of them is (gamma - 1) times the true gradient: at the default gamma = 1 only anchors learn. This
is a bug, not the paper's loss, so the default back-propagates the loss as written;
``reference_backward=True`` reproduces the reference (positives' and negatives' gradients times
gamma - 1, :func:`triplet_loss`).

Deviations:

- The CNN becomes an MLP over the concatenated views (``views``, each normalised by ``normalization``
  and, with ``balance_views``, scaled to unit total variance as in ``km_concat``):
  Linear-BatchNorm-ReLU blocks (``hidden``, default one of 512 units, standing for the reference's
  conv-BN-ReLU block) then Linear to 160 (the reference's embedding size) and L2 normalisation.
  Weights N(0, 0.01), biases 0 as in the reference. The first forward pass clusters the normalised
  input itself, as the reference does with raw pixels.
- The reference updates affinities after a merge approximately by default ("fast" mode: adding the
  rows of the two merged clusters); we recompute them exactly (cheap with sparse neighbour lists).
- The reference stores A as an upper triangle and ranks each cluster's K_c neighbours among
  lower-indexed clusters only; we rank over all clusters, as the paper states.
- Clusters with no affinity to any other (possible with a k-NN graph) are handled as in the reference:
  while n_c > 20 K, each is merged with the cluster of nearest mean before the scheduled merges; if no
  positive affinity remains during the merges, the smallest cluster merges with the one of nearest
  mean (the reference would pick an arbitrary pair).
- Features are extracted in eval mode (BatchNorm running statistics); the reference's periodic
  extractions run in training mode (batch statistics over its batches of 100, in index order) and
  only its final pass in evaluation mode: a labelling should not depend on the batch order. A
  batch of one sample is skipped (BatchNorm needs two). No missing-view handling: the runner imputes.

Memory (``memory_estimate``): the views and their normalised concatenation, one distance block of at
most 64 MiB, the K_s-NN arrays, the cluster-affinity dictionaries (at most 3 n K_s entries of ~120
bytes each; a nonzero A(C_i, C_j) needs a graph edge between the two clusters), cluster means, the
network, and 512 MiB for the interpreter and torch: 1.62 GiB at n = 23k with 2048 + 300 dims
(1.57 GiB measured by benchmarks/jule_scale.py), 0.71 GiB at 10k x 250 (0.64 GiB measured).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from mvbench.accelerator import Device
from mvbench.config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, Constraints, Interval
from mvbench.data import MultiViewDataset
from mvbench.data.preprocessing import Normalization, normalize_view
from mvbench.method import Capabilities, FitResult, Method

if TYPE_CHECKING:  # torch and scipy load when a fit starts, not when the method is listed
    import torch
    from scipy import sparse
    from torch import nn

_BLOCK_BYTES = 64 * 2**20  # one block of the k-NN distance computation
_BASE_BYTES = 512 * 2**20  # interpreter, torch and libraries
_DICT_ENTRY_BYTES = 120  # one int -> float entry of a Python dict, objects included


@dataclass
class JULEConfig:
    """Hyper-parameters: the paper's / reference code's defaults unless stated."""

    views: str = "all"  # "all", or comma-separated names or indices of the views to concatenate
    normalization: Normalization = "zscore"
    balance_views: bool = True  # scale each normalised view to unit total variance (as km_concat)
    hidden: list[int] = field(default_factory=lambda: [512])  # MLP stand-in for the CNN (deviation)
    embedding_dim: int = 160
    k_s: int = 20  # neighbours of the sample graph
    k_c: int = 5  # neighbour clusters in the merge criterion
    a: float = 1.0  # weight of the local-structure term of the merge criterion
    kc_min_clusters: int = 100  # the K_c term applies while more clusters than this remain (reference)
    eta: float = 0.9  # unrolling rate: a period merges ceil(eta * n_c) clusters
    epochs_per_period: int = 20
    max_epochs: int = 1000
    batch_size: int = 100
    lr: float = 0.01
    lr_gamma: float = 1e-4  # inverse decay: lr * (1 + lr_gamma * t)^-lr_power
    lr_power: float = 0.75
    momentum: float = 0.9
    dampening: float = 0.9  # Torch 7's optim.sgd: dampening defaults to the momentum (v <- m v + (1 - d) g)
    weight_decay: float = 5e-5
    margin: float = 0.2
    positive_weight: float = 1.0  # gamma of the weighted triplet loss
    n_negatives: int = 20  # per positive pair, at most (clusters in the batch - 1), as in the reference
    reference_backward: bool = False  # reproduce the reference's in-place triplet backward (module doc)
    device: Device = "auto"  # where the embedder trains (the sample graph and agglomeration stay on the CPU)

    constraints: ClassVar[Constraints] = {
        "k_s": AT_LEAST_ONE,
        "k_c": AT_LEAST_ONE,
        "kc_min_clusters": NON_NEGATIVE,
        "embedding_dim": AT_LEAST_ONE,
        "eta": Interval(0, 1, "right"),
        "epochs_per_period": AT_LEAST_ONE,
        "max_epochs": NON_NEGATIVE,
        "batch_size": Interval(2),
        "n_negatives": AT_LEAST_ONE,
        "lr": POSITIVE,
        "momentum": Interval(0, 1, "left"),
        "dampening": Interval(0, 1),
        "margin": NON_NEGATIVE,
        "positive_weight": POSITIVE,
        "hidden": AT_LEAST_ONE,
    }


# -- sample graph and initial clusters ------------------------------------------------------------------
def knn(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``k`` nearest neighbours of every row (itself excluded): indices and squared distances,
    both n x k in increasing distance, computed in row blocks (never an n x n matrix)."""
    import torch

    n = len(x)
    k = min(k, n - 1)
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    sq = (t * t).sum(1)
    block = max(1, _BLOCK_BYTES // (4 * n))
    indices, distances = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for start in range(0, n, block):
        stop = min(start + block, n)
        d = (t[start:stop] @ t.T).mul_(-2).add_(sq[None, :]).add_(sq[start:stop, None])  # in place: one block
        d[torch.arange(stop - start), torch.arange(start, stop)] = math.inf
        vals, idx = d.topk(k, dim=1, largest=False)
        indices[start:stop], distances[start:stop] = idx.numpy(), vals.clamp_min(0).numpy()
    return indices, distances


def sample_affinity(sq_dist: np.ndarray) -> np.ndarray:
    """W_ij = exp(-d_ij^2 / sigma^2) on the k-NN entries, sigma^2 the mean of all of them."""
    sigma2 = float(sq_dist.mean()) if sq_dist.size else 1.0
    return np.exp(-sq_dist / (sigma2 if sigma2 > 0 else 1.0))


def initial_clusters(neighbours: np.ndarray) -> np.ndarray:
    """Connected components of the links from every sample to its nearest neighbour."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    n = len(neighbours)
    links = sparse.csr_matrix((np.ones(n), (np.arange(n), neighbours[:, 0])), shape=(n, n))
    return connected_components(links, directed=True, connection="weak")[1].astype(np.int64)


# -- agglomerative clustering ---------------------------------------------------------------------------
class Agglomeration:
    """Clusters on a sparse K_s-NN graph, merged one pair at a time by the paper's criterion.

    ``out[i][j]`` holds 1^T W_{Ci,Cj} W_{Cj,Ci} 1 (nonzero entries only), ``aff[i][j]`` the symmetric
    A(C_i, C_j); a cluster keeps the id of its larger part when two merge.
    """

    def __init__(
        self,
        features: np.ndarray,
        neighbours: np.ndarray,
        weights: np.ndarray,
        labels: np.ndarray,
        k_c: int = 5,
        a: float = 1.0,
        kc_min_clusters: int = 100,
    ) -> None:
        from scipy import sparse

        self.n = n = len(labels)
        self.nbr, self.w = neighbours, weights
        rows = np.repeat(np.arange(n), neighbours.shape[1])
        self.w_t = sparse.csr_matrix((weights.ravel(), (neighbours.ravel(), rows)), shape=(n, n))  # W^T
        _, self.labels = np.unique(labels, return_inverse=True)
        n_c = int(self.labels.max()) + 1
        self.k_c, self.a, self.kc_min_clusters = k_c, a, kc_min_clusters
        order = np.argsort(self.labels, kind="stable")
        self.members = dict(enumerate(np.split(order, np.cumsum(np.bincount(self.labels))[:-1])))
        self.size = np.bincount(self.labels).astype(np.float64)
        member = sparse.csr_matrix((np.ones(n), (self.labels, np.arange(n))), shape=(n_c, n))
        self.sums = member @ features.astype(np.float64)
        self.out, self.aff = self._initial_affinities(member)
        self.local = n_c > kc_min_clusters
        self.version = dict.fromkeys(self.members, 0)
        self.heap: list[tuple[float, int, int]] = []
        for i in self.members:
            self._push(i)

    @property
    def n_clusters(self) -> int:
        return len(self.members)

    def _initial_affinities(self, member: sparse.csr_matrix) -> tuple[dict[int, dict[int, float]], ...]:
        """out and aff of every cluster at once, L the n_c x n membership matrix:
        out[i, j] = sum_{q in Cj} u_i(q) v_i(q) with u_i = (L W)_i and v_i = (L W^T)_i."""
        from scipy import sparse

        out = ((member @ self.w_t.T.tocsr()).multiply(member @ self.w_t) @ member.T).tocsr()
        out = (out - sparse.diags(out.diagonal())).tocsr()
        out.eliminate_zeros()
        scaled = (sparse.diags(1.0 / self.size**2) @ out).tocsr()
        return _to_dicts(out), _to_dicts((scaled + scaled.T).tocsr())

    def affinity(self, i: int, j: int) -> float:
        return self.aff[i].get(j, 0.0)

    def score(self, i: int) -> tuple[float, int | None]:
        """The merge criterion of cluster i and its most affine cluster N_1 (None when it has none)."""
        row = self.aff[i]
        if not row:
            return 0.0, None
        top = sorted(row.values(), reverse=True)[: self.k_c]
        best = top[0]
        if self.local and self.k_c > 1:
            top += [0.0] * (self.k_c - len(top))
            best += self.a / (self.k_c - 1) * sum(top[0] - t for t in top[1:])
        return best, max(row, key=row.__getitem__)

    def _push(self, i: int) -> None:
        self.version[i] += 1
        heapq.heappush(self.heap, (-self.score(i)[0], i, self.version[i]))

    def best_pair(self) -> tuple[int, int]:
        """The pair to merge: (C_i, N_1) of highest criterion, or the fallback when no affinity is left."""
        while self.heap:
            _, i, version = self.heap[0]
            if i in self.members and self.version[i] == version:
                break
            heapq.heappop(self.heap)
        score, partner = self.score(i)
        if score > 0 and partner is not None:
            return i, partner
        smallest = min(self.members, key=lambda c: (self.size[c], c))
        return smallest, self.nearest_mean(smallest)

    def nearest_mean(self, i: int) -> int:
        ids = np.array([c for c in self.members if c != i])
        means = self.sums[ids] / self.size[ids, None]
        return int(ids[np.argmin(((means - self.sums[i] / self.size[i]) ** 2).sum(1))])

    def merge(self, i: int, j: int) -> int:
        """Merge clusters i and j; returns the id of the result."""
        s, t = (i, j) if self.size[i] >= self.size[j] else (j, i)
        old_neighbours = (self.aff[s].keys() | self.aff[t].keys()) - {s, t}
        self.labels[self.members[t]] = s
        self.members[s] = np.concatenate([self.members.pop(t), self.members[s]])
        self.size[s] += self.size[t]
        self.sums[s] += self.sums[t]
        for c in old_neighbours:  # 1^T W_{Cc,S} W_{S,Cc} 1 is additive in S
            moved = self.out[c].pop(t, 0.0)
            if moved:
                self.out[c][s] = self.out[c].get(s, 0.0) + moved
        del self.out[t], self.aff[t], self.version[t]
        self.out[s] = self._exact_row(s)
        new_neighbours = old_neighbours | self.out[s].keys()
        self.aff[s] = {}
        for c in new_neighbours:
            value = self.out[s].get(c, 0.0) / self.size[s] ** 2 + self.out[c].get(s, 0.0) / self.size[c] ** 2
            self.aff[c].pop(t, None)
            self.aff[s][c] = self.aff[c][s] = value
        rescore = new_neighbours | {s}
        if self.local != (self.n_clusters > self.kc_min_clusters):  # the K_c term switches off: rescore all
            self.local = not self.local
            rescore = set(self.members)
        for c in rescore:
            self._push(c)
        return s

    def _exact_row(self, s: int) -> dict[int, float]:
        """out[s][c] = sum_{q in Cc} u_s(q) v_s(q) for every cluster c != s, from the members of s."""
        rows = self.members[s]
        u = np.bincount(self.nbr[rows].ravel(), self.w[rows].ravel(), minlength=self.n)
        incoming = self.w_t[rows]
        v = np.bincount(incoming.indices, incoming.data, minlength=self.n)
        q = np.flatnonzero(u * v)
        q = q[self.labels[q] != s]
        clusters, inverse = np.unique(self.labels[q], return_inverse=True)
        return dict(zip(clusters.tolist(), np.bincount(inverse, u[q] * v[q]).tolist()))

    def absorb_isolated(self, floor: int) -> int:
        """Merge every cluster without affinity to any other into the cluster of nearest mean (while more
        than ``floor`` clusters remain); returns the number of merges."""
        merged = 0
        for i in sorted(self.members):
            if i in self.members and not self.aff[i] and self.n_clusters > max(floor, 1):
                self.merge(i, self.nearest_mean(i))
                merged += 1
        return merged

    def run(self, n_merges: int) -> None:
        for _ in range(n_merges):
            self.merge(*self.best_pair())

    def compact_labels(self) -> np.ndarray:
        return np.unique(self.labels, return_inverse=True)[1]


def _to_dicts(m: sparse.csr_matrix) -> dict[int, dict[int, float]]:
    """Row i of a sparse matrix as {column: value}."""
    cols, vals, ptr = m.indices.tolist(), m.data.tolist(), m.indptr.tolist()
    return {i: dict(zip(cols[ptr[i] : ptr[i + 1]], vals[ptr[i] : ptr[i + 1]])) for i in range(m.shape[0])}


def merges_scheduled(n_c: int, n_clusters: int, eta: float) -> int:
    """Merges of one period that starts from ``n_c`` clusters: min(ceil(eta n_c), n_c - K)."""
    return max(0, min(math.ceil(eta * n_c), n_c - n_clusters))


def forward_pass(
    features: np.ndarray, labels: np.ndarray | None, n_clusters: int, cfg: JULEConfig
) -> tuple[np.ndarray, dict[str, float]]:
    """One period's clustering: the initial over-segmentation when ``labels`` is None, else the
    scheduled merges starting from ``labels``."""
    neighbours, sq_dist = knn(features, cfg.k_s)
    if labels is None:
        labels = initial_clusters(neighbours)
        return labels, {"n_clusters": float(labels.max() + 1)}
    agg = Agglomeration(features, neighbours, sample_affinity(sq_dist), labels, cfg.k_c, cfg.a, cfg.kc_min_clusters)
    isolated = agg.absorb_isolated(n_clusters) if agg.n_clusters > 20 * n_clusters else 0
    start = agg.n_clusters
    merges = merges_scheduled(start, n_clusters, cfg.eta)
    agg.run(merges)
    return agg.compact_labels(), {
        "n_clusters": float(agg.n_clusters),
        "start_clusters": float(start),
        "merges": float(merges),
        "isolated_merged": float(isolated),
    }


def cluster_to_k(features: np.ndarray, n_clusters: int, cfg: JULEConfig) -> tuple[np.ndarray, int]:
    """Forward passes from the initial over-segmentation down to K clusters; returns labels and periods."""
    labels, facts = forward_pass(features, None, n_clusters, cfg)
    periods = 1
    while facts["n_clusters"] > n_clusters:
        labels, facts = forward_pass(features, labels, n_clusters, cfg)
        periods += 1
    return labels, periods


# -- representation learning ----------------------------------------------------------------------------
def embedder(in_dim: int, hidden: list[int], out_dim: int, gen: torch.Generator) -> nn.Module:
    """(Linear-BatchNorm-ReLU) blocks, a linear layer to the embedding, L2 normalisation."""
    from torch import nn

    from ._torch_ops import L2Normalized

    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(in_dim, h), nn.BatchNorm1d(h), nn.ReLU()]
        in_dim = h
    layers.append(nn.Linear(in_dim, out_dim))
    for m in layers:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01, generator=gen)
            nn.init.zeros_(m.bias)
    return L2Normalized(nn.Sequential(*layers))


def triplet_loss(
    z: torch.Tensor,
    y: torch.Tensor,
    n_negatives: int,
    margin: float,
    gamma: float,
    gen: torch.Generator,
    reference_backward: bool = False,
) -> tuple[torch.Tensor, int] | None:
    """Weighted triplet loss over a batch (module doc); None when the batch has no triplet.

    Each pair (i, j), i before j, of one cluster gets min(``n_negatives``, C_b - 1) distinct random
    negatives from the other clusters of the batch, C_b the number of clusters in the batch (the
    reference's rule). ``reference_backward``: the positives' and negatives' gradients are scaled by
    gamma - 1 (zero at gamma = 1), what the reference's in-place backward leaves of them (module doc).
    """
    import torch

    same = y[:, None] == y[None, :]
    anchor, positive = torch.triu(same, diagonal=1).nonzero(as_tuple=True)
    if len(anchor) == 0:
        return None
    clusters_in_batch = len(torch.unique(y))
    candidates = ~same[anchor]  # negatives allowed for each pair
    keys = torch.rand(candidates.shape, generator=gen).to(z.device).masked_fill(~candidates, 2.0)
    picks = min(n_negatives, clusters_in_batch - 1)
    negative = keys.topk(picks, dim=1, largest=False).indices  # random distinct picks
    valid = candidates.gather(1, negative)
    if not valid.any():
        return None
    other = z
    if reference_backward:  # value z, gradient (gamma - 1) times z's
        other = z.detach() + (gamma - 1.0) * (z - z.detach())
    dist = (2 - 2 * z @ other.T).clamp_min(0)  # squared distances of unit vectors, rows: anchors
    terms = gamma * dist[anchor, positive][:, None] - dist[anchor[:, None], negative] + margin
    return terms.clamp_min(0)[valid].mean(), int(valid.sum())


def embed(net: nn.Module, x: torch.Tensor, batch: int = 4096) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        return torch.cat([net(chunk) for chunk in x.split(batch)]).cpu().numpy()


def train_period(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    x: torch.Tensor,
    labels: np.ndarray,
    cfg: JULEConfig,
    gen: torch.Generator,
    step: int,
) -> tuple[float, float, int]:
    """``epochs_per_period`` epochs of the triplet loss; returns mean loss, mean triplets per batch, step."""
    import torch

    net.train()
    y = torch.from_numpy(labels).to(x.device)
    losses, counts = [], []
    for _ in range(cfg.epochs_per_period):
        for idx in torch.randperm(len(x), generator=gen).split(cfg.batch_size):
            idx = idx.to(x.device)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * (1 + cfg.lr_gamma * step) ** -cfg.lr_power
            step += 1
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            out = triplet_loss(
                net(x[idx]), y[idx], cfg.n_negatives, cfg.margin, cfg.positive_weight, gen, cfg.reference_backward
            )
            opt.zero_grad(set_to_none=False)
            if out is not None:  # without triplets the step still applies momentum and weight decay (Torch 7)
                loss, count = out
                loss.backward()
                losses.append(float(loss.detach()))
                counts.append(count)
            opt.step()
    mean = lambda v: float(np.mean(v)) if v else 0.0  # noqa: E731
    return mean(losses), mean(counts), step


def renorm_rows(x: np.ndarray) -> np.ndarray:
    """Rows of L2 norm above 1 scaled to norm 1, shorter rows unchanged (Torch 7's ``renorm(2, 1, 1)``)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1.0)


def torch7_sgd(params: Iterable[torch.Tensor], cfg: JULEConfig) -> torch.optim.SGD:
    """Torch 7's ``optim.sgd`` as the reference configures it: g <- g + wd x; v <- g at the first step,
    then v <- m v + (1 - dampening) g; x <- x - lr v. torch.optim.SGD applies the same three lines in
    the same order (weight decay into the gradient, then the buffer, no Nesterov), so only the
    dampening, which Torch 7 defaults to the momentum, has to be passed."""
    import torch

    params = list(params)
    for p in params:  # Torch 7 steps every parameter even when the loss gave it no gradient
        p.grad = torch.zeros_like(p)
    return torch.optim.SGD(
        params, lr=cfg.lr, momentum=cfg.momentum, dampening=cfg.dampening, weight_decay=cfg.weight_decay
    )


class JULE(Method):
    """JULE (Yang, Parikh, Batra, CVPR 2016): agglomerative clustering and triplet representation learning
    alternated in partially unrolled periods; an MLP over the concatenated views replaces the CNN."""

    Config = JULEConfig
    capabilities = Capabilities(handles_missing=False, min_views=1)
    quick_params = {"hidden": [32], "embedding_dim": 16, "epochs_per_period": 2, "k_s": 10}

    @classmethod
    def memory_estimate(cls, config: JULEConfig, n_samples: int, view_dims: list[int]) -> int:
        """Peak bytes (module doc): data copies, a distance block, graph, affinity dictionaries, network."""
        n, d, k, e = n_samples, sum(view_dims), config.k_s, config.embedding_dim
        data = 4 * 4 * n * d  # float32: the dataset, normalised views, their concatenation, its L2 rows
        graph = n * k * (8 + 8 + 12) + 3 * n * k * 12  # k-NN arrays, W^T, sparse products
        dicts = 3 * n * k * _DICT_ENTRY_BYTES
        widths = [d, *config.hidden, e]
        network = 16 * sum(a * b for a, b in zip(widths, widths[1:]))  # weights, grads, momentum
        embeddings = 2 * 4 * n * e + 8 * n * e  # two embeddings and the cluster sums
        return int(_BASE_BYTES + data + _BLOCK_BYTES + graph + dicts + network + embeddings)

    def fit_predict(self, data: MultiViewDataset, n_clusters: int, seed: int) -> FitResult:
        import torch

        from mvbench.accelerator import resolve_device

        cfg = self.config
        device = resolve_device(cfg.device)
        views = [normalize_view(data.view(v), cfg.normalization, data.mask[:, v]) for v in data.view_indices(cfg.views)]
        if cfg.balance_views:
            views = [v / np.sqrt(max(float(v.var(axis=0).sum()), 1e-12)) for v in views]
        x_np = np.hstack(views).astype(np.float32, copy=False)
        del views
        x = torch.from_numpy(x_np).to(device)
        gen = torch.Generator().manual_seed(int(seed))
        net = embedder(x.shape[1], cfg.hidden, cfg.embedding_dim, gen).to(device)
        opt = torch7_sgd(net.parameters(), cfg)

        # period p: forward pass (clusters), then backward pass (loss); the last period has no backward pass
        labels, facts = forward_pass(renorm_rows(x_np), None, n_clusters, cfg)
        initial = facts["n_clusters"]
        history: list[dict[str, float]] = []
        periods, epochs, step = 1, 0, 0
        max_periods = cfg.max_epochs // cfg.epochs_per_period + 1
        for _ in self.context.track(range(max_periods), total=max_periods, description="JULE periods"):
            entry = {"n_clusters": facts["n_clusters"], "isolated_merged": facts.get("isolated_merged", 0.0)}
            history.append(entry)
            if facts["n_clusters"] <= n_clusters or epochs >= cfg.max_epochs:
                break
            entry["loss"], entry["triplets_per_batch"], step = train_period(net, opt, x, labels, cfg, gen, step)
            epochs += cfg.epochs_per_period
            labels, facts = forward_pass(embed(net, x), labels, n_clusters, cfg)
            periods += 1
        converged = facts["n_clusters"] <= n_clusters
        features = embed(net, x)
        final, final_periods = cluster_to_k(features, n_clusters, cfg)
        info = {
            "iterations": float(periods),
            "max_iterations": float(max_periods),
            "converged": float(converged),
            "epochs": float(epochs),
            "initial_clusters": initial,
            "final_pass_periods": float(final_periods),
            "final_clusters": float(final.max() + 1),
        }
        return FitResult(labels=final.astype(np.int64), history=history, info=info)
