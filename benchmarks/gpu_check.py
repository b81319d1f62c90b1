"""CPU against CUDA: JECL (pretraining included) and DCCA at coco_cross and coco_all sizes.

Synthetic Gaussian clusters (:mod:`mvbench.datasets.synthetic`) of the JECL table's shapes: two
views of 2048 (ResNet-50) and 300 (Doc2Vec) dimensions, n = 7429 with K = 10 (coco_cross) and
n = 23189 with K = 43 (coco_all), the paper's counts. Each method runs a short fixed schedule, the
same on both devices, so the ratio compares like with like:

- JECL: 1 epoch per autoencoder layer, 2 fine-tuning epochs, 2 clustering epochs (``tol=0``: no early
  stop), no pretraining cache;
- DCCA: 2 epochs.

Times are whole ``fit_predict`` calls (data preparation and the CPU K-means included) after one small
warm-up fit per device, which takes CUDA's start-up out of the figures. The defaults' full schedules
are far longer (JECL: 10 epochs per layer + 30 fine-tuning + up to 100 clustering epochs; DCCA: 100
epochs); the ratio of this short schedule is the figure to read. Without CUDA the CPU figures are
printed and the script says CUDA is absent. ``--quick`` divides n by 10 (a smoke run for small
machines). Budget: ``--quick`` took 90 CPU-seconds here (2 shared cores, 4.2 min wall under load);
the full sizes are about 10x that work, i.e. roughly 1-3 minutes on 16 idle cores, the CPU runs
dominating (estimated, not yet measured on a GPU machine).

    python benchmarks/gpu_check.py [--quick] [--threads N]
"""

from __future__ import annotations

import argparse
import time

import torch

from mvbench.data import MultiViewDataset
from mvbench.datasets.synthetic import SyntheticParams, generate
from mvbench.methods.dcca_km import DCCAKMeans
from mvbench.methods.jecl import JECL
from mvbench.metrics import evaluate

SIZES = {"coco_cross": (7429, 10), "coco_all": (23189, 43)}
DIMS = [2048, 300]
METHODS = {
    "jecl": lambda device: JECL(
        device=device, pretrain_layer_epochs=1, pretrain_finetune_epochs=2, max_epochs=2, tol=0.0, cache=False
    ),
    "dcca_km": lambda device: DCCAKMeans(device=device, epochs=2),
}


def timed_fit(method: str, device: str, data: MultiViewDataset, k: int) -> tuple[float, float]:
    """Seconds of one fit and its ACC (a sanity check that both devices learn the same thing)."""
    start = time.perf_counter()
    labels = METHODS[method](device).fit_predict(data.without_labels(), k, seed=0).labels
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start, evaluate(data.labels, labels)["acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n / 10: a smoke run for small machines")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else "absent"
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, CUDA: {gpu}")
    warm = generate(SyntheticParams(n_samples=300, n_clusters=3, view_dims=[32, 16], seed=1))
    for device in devices:
        for method in METHODS:
            timed_fit(method, device, warm, 3)
    print(
        f"{'size':<11} {'n':>6} {'K':>3} {'method':<8} "
        + " ".join(f"{d + ' s':>9} {d + ' acc':>9}" for d in devices)
        + (f" {'cpu/cuda':>9}" if len(devices) == 2 else "")
    )
    for size, (n, k) in SIZES.items():
        n = n // 10 if args.quick else n
        data = generate(SyntheticParams(n_samples=n, n_clusters=k, view_dims=DIMS, seed=0))
        for method in METHODS:
            runs = {device: timed_fit(method, device, data, k) for device in devices}
            cells = " ".join(f"{s:>9.1f} {acc:>9.3f}" for s, acc in runs.values())
            ratio = f" {runs['cpu'][0] / runs['cuda'][0]:>9.1f}" if len(devices) == 2 else ""
            print(f"{size:<11} {n:>6} {k:>3} {method:<8} {cells}{ratio}", flush=True)
    if len(devices) == 1:
        print("CUDA is absent here: CPU figures only (run on a CUDA machine for the ratio).")


if __name__ == "__main__":
    main()
