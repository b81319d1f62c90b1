"""Seconds per training epoch of ``mflvc``, ``gcfagg``, ``cvcl`` and ``scmvc`` against their reference
code, on the same CPU, data, batch size and network sizes, one after the other in one run.

The reference code is not part of mvbench (no licence): ``--reference-dir`` holds checkouts of
SubmissionsIn/MFLVC (as ``MFLVC/``), Galaxy922/GCFAggMVC (``GCFAggMVC/``), chenjie20/CVCL (``CVCL/``)
and SongwuJob/SCMVC (``SCMVC/``), each with its data file (MNIST-USPS: ``data/MNIST_USPS.mat``,
``CVCL/datasets/MNIST_USPS.mat``) and these patches, which change no computation:

- the epoch arguments typed ``int`` (they are untyped, so a command-line value would be a string);
- GCFAgg: ``loss.py``'s ``.to('cuda')`` made ``.to(self.device)``; ``network.py`` computes the
  ``TransformerEncoderLayer`` step by step with ``need_weights=True`` to obtain S (the README's
  "Obtain-S" hand patch of PyTorch, done in the repository instead); a MNIST-USPS loader as MFLVC's.

Each reference script runs as a subprocess (``python -u``) under ``--threads`` BLAS/OpenMP threads, at
the same time as mvbench's method on the same schedule (so that the load of a shared machine falls on
both alike), and is stopped once enough epochs have printed; the time of epoch k is the gap between the lines it prints
at the end of epochs k-1 and k (CVCL prints every 10th epoch: its gaps are divided by their epoch
counts). mvbench's methods run the same schedule in-process (same threads) and report
``epoch_seconds`` (training steps) and ``readout_seconds`` (labels) per epoch in their history
(ours runs in this process: ``--threads`` torch threads, K-means' OpenMP pool limited alike). The
figure per stage is the median epoch. ``--clock cpu`` (the default) times CPU seconds of the
process (the reference's from ``/proc/<pid>/stat`` at each printed line, ours by ``time.process_time``
in place of the wall clock), which a machine shared with other jobs disturbs far less than wall
seconds; ``--clock wall`` times wall seconds. SCMVC's reference reads out labels (K-means, 100 restarts) after
every contrastive epoch, as ours: its contrastive figure includes the read-out on both sides; the
others' reference epochs have no read-out, so theirs compare training steps only. MFLVC's third stage
(50 full-batch steps) is not reached by the stopped reference (its script forces 50 contrastive
epochs on MNIST-USPS) and is not compared.

    python benchmarks/contrastive.py --reference-dir /work/scratch/i25/refs [--epochs 3] [--threads 1]
        [--methods mflvc,gcfagg,cvcl,scmvc]

Results and the command that produced them: ``benchmarks/contrastive.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from mvbench import registry
from mvbench.data.sources import DataPaths
from mvbench.data.store import load


@dataclass
class Reference:
    folder: str
    args: list[str]  # {E}: the epochs per stage
    stage_lines: tuple[str, str]  # per stage, a regex matching the line printed after an epoch; group 1: its number
    contrastive_lines: int = 0  # lines of the second stage to wait for (0: the epochs asked for)
    readout: bool = False  # the reference reads labels out after every contrastive epoch


LOSS_LINE = r"^Epoch (\d+) Loss"
REFERENCES = {
    "mflvc": Reference("MFLVC", ["train.py", "--dataset", "MNIST-USPS", "--mse_epochs", "{E}"], (LOSS_LINE, LOSS_LINE)),
    "gcfagg": Reference(
        "GCFAggMVC", ["train.py", "--dataset", "MNIST-USPS", "--rec_epochs", "{E}"], (LOSS_LINE, LOSS_LINE)
    ),
    "cvcl": Reference(
        "CVCL",
        ["main.py", "--db", "MNIST-USPS", "--mse_epochs", "{E}"],
        (r"^Pre-training, epoch (\d+)", r"^Contrastive_train, epoch (\d+)"),
        contrastive_lines=2,  # epochs 0 and 10 (it prints every 10th)
    ),
    "scmvc": Reference(
        "SCMVC", ["train.py", "--dataset", "MNIST-USPS", "--pre_epochs", "{E}"], (LOSS_LINE, LOSS_LINE), readout=True
    ),
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reference_epochs(ref: Reference, root: Path, epochs: int, threads: int, clock: str) -> list[list[float]]:
    """Per stage, the seconds of each timed reference epoch: (t_b - t_a) / (epoch_b - epoch_a) between
    consecutive printed epochs of a stage, t the wall clock or the process's CPU time (``clock``).
    The subprocess is stopped once enough have printed."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-u", *[a.replace("{E}", str(epochs)) for a in ref.args]]
    proc = subprocess.Popen(
        cmd, cwd=root / ref.folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    stamps: list[list[tuple[int, float]]] = [[], []]
    same_pattern = ref.stage_lines[0] == ref.stage_lines[1]
    wanted = ref.contrastive_lines or epochs
    tail: list[str] = []
    try:
        for line in proc.stdout:
            now = time.perf_counter() if clock == "wall" else cpu_seconds(proc.pid)
            tail = (tail + [line])[-20:]
            for stage, pattern in enumerate(ref.stage_lines):
                found = re.match(pattern, line)
                if found is None:
                    continue
                number = int(found.group(1))
                if same_pattern:  # numbered on across stages: the stage follows from the number
                    stage = int(number > epochs)
                stamps[stage].append((number, now))
                break
            if len(stamps[1]) >= wanted:
                break
    finally:
        proc.kill()
        proc.wait()
    if len(stamps[1]) < 2:
        raise SystemExit(f"{ref.folder}: the reference stopped early; its last lines:\n{''.join(tail)}")
    return [[(tb - ta) / (nb - na) for (na, ta), (nb, tb) in zip(marks, marks[1:], strict=False)] for marks in stamps]


class ProcessClock:
    """Stands in for the ``time`` module of :mod:`mvbench.methods._contrastive_mvc` so that its
    ``epoch_seconds`` are this process's CPU seconds (``--clock cpu``)."""

    perf_counter = staticmethod(time.process_time)


def ours_epochs(name: str, dataset: str, epochs: int, clock: str) -> tuple[list[list[float]], list[list[float]]]:
    """Per stage, mvbench's training seconds per epoch and training + read-out seconds per epoch."""
    from mvbench.methods import _contrastive_mvc

    _contrastive_mvc.time = ProcessClock if clock == "cpu" else time  # type: ignore[assignment]
    data = load(DataPaths.resolve().data_dir / f"{dataset}.h5", lazy=False)
    k = len(set(data.labels.tolist()))
    cls = registry.methods().get(name)
    params = {"pretrain_epochs": epochs, "contrastive_epochs": epochs, "device": "cpu"}
    if name == "mflvc":
        params["tune_epochs"] = 0
    result = cls(**params).fit_predict(data.without_labels(), k, 0)
    train: list[list[float]] = [[], []]
    total: list[list[float]] = [[], []]
    for entry in result.history:
        stage = int(entry["stage"])
        train[stage].append(entry["epoch_seconds"])
        total[stage].append(entry["epoch_seconds"] + entry.get("readout_seconds", 0.0))
    return train, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per stage (the CVCL reference: 11 contrastive)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--methods", default="mflvc,gcfagg,cvcl,scmvc")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="CPU seconds (default: robust on a shared machine)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # K-means' OpenMP threads too, as OMP_NUM_THREADS does for the reference
    print(
        f"dataset mnist_usps, {args.threads} thread(s), {args.epochs} epochs per stage; "
        f"{args.clock} seconds per epoch (median)"
    )
    print(f"{'method':8} {'stage':20} {'mvbench':>9} {'reference':>10} {'ratio':>7}")
    for name in args.methods.split(","):
        ref = REFERENCES[name]
        with ThreadPoolExecutor(1) as pool:  # both at once: the machine's other load falls on both alike
            pending = pool.submit(reference_epochs, ref, args.reference_dir, args.epochs, args.threads, args.clock)
            train, total = ours_epochs(name, "mnist_usps", args.epochs, args.clock)
            ref_times = pending.result()
        for stage, label in ((0, "pretrain"), (1, "contrastive")):
            mine = total[stage] if (ref.readout and stage == 1) else train[stage]
            a, b = statistics.median(mine), statistics.median(ref_times[stage])
            tag = label + ("+readout" if ref.readout and stage == 1 else "")
            print(f"{name:8} {tag:20} {a:9.2f} {b:10.2f} {a / b:7.2f}", flush=True)


if __name__ == "__main__":
    main()
