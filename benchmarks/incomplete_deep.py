"""Seconds per training epoch of ``completer``, ``dcp`` and ``divide`` against their reference code.

Both sides train on the same data: scene15 views 0 + 1 (gist, lbp) as prepared by mvbench, raw for
COMPLETER/DCP and z-scored for DIVIDE (each reference's preprocessing), at ``--missing-rate`` (mvbench's
mask, handed to both), with the references' Scene-15 sizes and batches (autoencoders [d, 1024, 1024,
1024, 128], batch 256; DIVIDE's encoders of the same widths, batch 1024). The dual-prediction term
(COMPLETER/DCP) and the random-walk targets (DIVIDE) are switched on from the first epoch, so every
epoch timed is a full one of the late schedule.

- Reference: ``--reference-dir DIR`` holds the three repositories' Python files as
  ``DIR/completer`` (``XLearning-SCU/2021-CVPR-Completer``), ``DIR/dcp`` (``2022-TPAMI-DCP``) and
  ``DIR/divide`` (``2024-AAAI-DIVIDE``), unmodified. Each is imported in this process and run on the
  CPU: ``torch.Tensor.cuda`` is replaced by the identity for the run (DIVIDE hard-codes ``.cuda()``);
  ``munkres``, imported by their evaluation modules but not used by an epoch, is stubbed when absent.
  COMPLETER and DCP run their own ``train``/``train_clustering`` for ``--epochs`` epochs with the
  evaluation switched off (``print_num`` beyond the last epoch); DIVIDE runs its ``train_one_epoch``
  with its ``IncompleteDatasetSampler`` and a ``DataLoader`` of ``num_workers=0`` (its default of 8
  worker processes would only compete for these cores).
- Ours: ``fit_predict`` with ``epochs = 1 + E`` minus ``fit_predict`` with ``epochs = 1``, both with
  one K-means restart, i.e. the cost of E epochs without set-up, inference or clustering.

Each side is timed ``--repeats`` times, alternating, after one warm-up epoch each; the best wall time
and the best CPU time of each are kept and the ratios ours / reference printed (below 1: ours is
faster); on a loaded machine the CPU (process time) ratio is the steadier one. ``--threads`` sets torch's
CPU threads (default 1, for a shared machine). Results: ``benchmarks/incomplete_deep.md``.

    python benchmarks/incomplete_deep.py --reference-dir /path/to/refs [--epochs 2] [--repeats 2]
        [--threads 1] [--missing-rate 0] [--methods completer,dcp,divide]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvbench.data import MultiViewDataset, sources, store
from mvbench.data.conditions import Condition
from mvbench.data.preprocessing import normalize_view
from mvbench.methods.completer import Completer
from mvbench.methods.dcp import DCP
from mvbench.methods.divide import DIVIDE

#: Module names the three repositories share (``model``, ``loss``, ``utils``...): purged between them.
REFERENCE_MODULES = ("model", "loss", "util", "utils", "evaluation", "configure", "engine_train", "dataset_loader")


def scene15(missing_rate: float) -> MultiViewDataset:
    path = sources.prepare("scene15", sources.DataPaths.resolve(), {})
    data = store.load(path, lazy=False).select_views([0, 1])
    return Condition(missing_rate).apply(data, repetition=0)


@contextlib.contextmanager
def reference(folder: Path) -> Iterator[None]:
    """Import a reference repository's modules from ``folder``, on the CPU, then forget them."""

    def purge() -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in REFERENCE_MODULES:
                del sys.modules[name]

    purge()
    sys.path.insert(0, str(folder))
    cuda = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self  # type: ignore[method-assign]
    if "munkres" not in sys.modules and importlib.util.find_spec("munkres") is None:
        sys.modules["munkres"] = types.SimpleNamespace(Munkres=None)  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.Tensor.cuda = cuda  # type: ignore[method-assign]
        sys.path.remove(str(folder))
        purge()


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def reference_completer_like(folder: Path, data: MultiViewDataset, kind: str, epochs: int) -> Callable[[], Any]:
    """A closure running ``epochs`` epochs of COMPLETER's ``train`` or DCP's ``train_clustering``."""
    with reference(folder):
        if kind == "completer":
            configure, model_module = importlib.import_module("configure"), importlib.import_module("model")
            config = configure.get_default_config("Scene_15")
            model = model_module.Completer(config)
        else:
            configure = importlib.import_module("configure.configure_clustering")
            model_module = importlib.import_module("model")
            config = configure.get_default_config("Scene_15")
            model = model_module.DCP(config)
    config["training"]["start_dual_prediction"] = 0
    config["print_num"] = 10**9
    mask = torch.from_numpy(data.mask.astype(np.int64))
    x1, x2 = (torch.from_numpy(data.view(v) * data.mask[:, [v]]) for v in (0, 1))
    params = [
        p for net in (model.autoencoder1, model.autoencoder2, model.img2txt, model.txt2img) for p in net.parameters()
    ]
    optimizer = torch.optim.Adam(params, lr=config["training"]["lr"])
    logger = types.SimpleNamespace(info=lambda *a: None)

    def run(n: int = epochs) -> None:
        config["training"]["epoch"] = n
        try:
            if kind == "completer":
                model.train(config, logger, x1, x2, [None], mask, optimizer, torch.device("cpu"))
            else:
                model.train_clustering(
                    config, logger, {"acc": []}, x1, x2, [None], mask, optimizer, torch.device("cpu")
                )
        except (UnboundLocalError, IndexError):
            pass  # the references return the last evaluation's scores; none was asked for

    run(1)  # warm-up
    return run


def reference_divide(folder: Path, data: MultiViewDataset, epochs: int) -> Callable[[], Any]:
    """A closure running ``epochs`` epochs of DIVIDE's ``train_one_epoch`` on its Scene-15 settings."""
    with reference(folder):
        model_module = importlib.import_module("model")
        engine = importlib.import_module("engine_train")
        loader_module = importlib.import_module("dataset_loader")
        xs = [normalize_view(data.view(v), "zscore", data.mask[:, v]) for v in (0, 1)]
        dataset = loader_module.IncompleteMultiviewDataset(2, xs, np.zeros(data.n_samples, dtype=np.int64), 0.0)
        dataset.missing_mask = torch.from_numpy(data.mask.copy())
        sampler = loader_module.IncompleteDatasetSampler(dataset, seed=0)
        batch = min(1024, len(sampler))
        loader = torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=batch, num_workers=0, drop_last=True)
        dims = [[x.shape[1], 1024, 1024, 1024, 128] for x in xs]
        model = model_module.DIVIDE(n_views=2, layer_dims=dims, temperature=0.5, n_classes=15, drop_rate=0.2)
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-4 * 1024 / 256, betas=(0.9, 0.99))
        args = argparse.Namespace(
            n_views=2,
            momentum=0.98,
            start_rectify_epoch=0,
            warmup_epochs=20,
            lr=5e-4 * 1024 / 256,
            print_this_epoch=False,
        )
        train_one_epoch = engine.train_one_epoch

    def run(n: int = epochs) -> None:
        with reference(folder):  # its modules call .cuda() at run time too
            for epoch in range(n):
                train_one_epoch(model, loader, None, optimizer, torch.device("cpu"), epoch + 20, args=args)

    run(1)
    return run


def ours(method: str, data: MultiViewDataset, epochs: int) -> Callable[[], Any]:
    """A closure timing ``epochs`` epochs of our method: fit(1 + E) minus fit(1)."""
    common = {"device": "cpu", "n_init": 1, "epochs": 1}
    if method == "divide":
        make: Callable[..., Any] = lambda e: DIVIDE(**{**common, "epochs": e}, start_rectify_epoch=0)  # noqa: E731
    else:
        cls = Completer if method == "completer" else DCP
        make = lambda e: cls(**{**common, "epochs": e}, start_dual_prediction=0)  # noqa: E731
    hidden = data.without_labels()

    def fit(e: int) -> None:
        make(e).fit_predict(hidden, 15, seed=0)

    fit(1)  # warm-up

    def run_both() -> tuple[float, float]:
        wall0, cpu0 = timed(lambda: fit(1))
        wall1, cpu1 = timed(lambda: fit(1 + epochs))
        return wall1 - wall0, cpu1 - cpu0

    return run_both


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-dir", type=Path, required=True, help="folder holding completer/, dcp/, divide/")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timing (default 2)")
    parser.add_argument("--repeats", type=int, default=2, help="timings per side, best kept (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--missing-rate", type=float, default=0.0)
    parser.add_argument("--methods", default="completer,dcp,divide")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = scene15(args.missing_rate)
    print(
        f"scene15 views 0+1, missing rate {args.missing_rate}: {int(data.mask.all(axis=1).sum())} complete samples; "
        f"torch {torch.__version__}, {args.threads} thread(s); {args.epochs} epochs per timing, best of {args.repeats}"
    )
    head = ("method", "ours s/epoch", "(cpu)", "ref s/epoch", "(cpu)", "ours/ref", "(cpu)")
    print(f"{head[0]:<10} {head[1]:>13} {head[2]:>8} {head[3]:>12} {head[4]:>8} {head[5]:>9} {head[6]:>6}")
    for method in args.methods.split(","):
        folder = args.reference_dir / method
        if method == "divide":
            ref_run = reference_divide(folder, data, args.epochs)
        else:
            ref_run = reference_completer_like(folder, data, method, args.epochs)
        our_run = ours(method, data, args.epochs)
        ref_times, our_times = [], []
        for _ in range(args.repeats):
            ref_times.append(timed(ref_run))
            our_times.append(our_run())
        (rw, rc), (ow, oc) = (tuple(min(col) for col in zip(*times)) for times in (ref_times, our_times))
        e = args.epochs
        per_epoch = f"{ow / e:>13.2f} {oc / e:>8.2f} {rw / e:>12.2f} {rc / e:>8.2f}"
        print(f"{method:<10} {per_epoch} {ow / rw:>9.2f} {oc / rc:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
