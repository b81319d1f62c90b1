"""JECL / DEC on a real image-text set read straight from its .mat file (no dataset plugin needed).

The cub10/wikipedia dataset plugins were not merged when these figures were taken, so this script
imports ``$MVBENCH_RAW_DIR/mat/<name>.mat`` with :func:`mvbench.data.matlab.import_mat`, names the first
two views image/text, optionally removes text from a fraction ``$MISSING`` of the samples, and prints
the ACC of each method (final, first and last epoch). The shared pretraining seed is set as the runner
would (through the method's run context).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/jecl_realdata.py cub10 zscore jecl,dec_img 0,1 [param=value ...]
"""

import os
import sys
import time

import numpy as np
import torch

from mvbench.data.matlab import import_mat
from mvbench.method import RunContext
from mvbench.methods.dec import DEC
from mvbench.methods.jecl import JECL
from mvbench.metrics import evaluate

torch.set_num_threads(int(os.environ.get("THREADS", "1")))

name, norm, methods = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
seeds = [int(s) for s in sys.argv[4].split(",")]
extra = dict(a.split("=") for a in sys.argv[5:])
d = import_mat(os.path.join(os.environ.get("MVBENCH_RAW_DIR", "/work/shared/data"), "mat", f"{name}.mat"), name=name)
d = type(d)([d.view(0), d.view(1)], ["image", "text"], labels=d.labels)
K = len(np.unique(d.labels))
miss = float(os.environ.get("MISSING", "0"))
if miss:
    mask = np.ones((d.n_samples, 2), bool)
    mask[np.random.default_rng(42).random(d.n_samples) < miss, 1] = False
    t = d.view(1).copy()
    t[~mask[:, 1]] = 0
    d = type(d)([d.view(0), t], ["image", "text"], mask=mask, labels=d.labels)
table = {
    "jecl": lambda c: JECL(normalization=norm, context=c, **extra),
    "jecl_na": lambda c: JECL(normalization=norm, gamma=0, context=c, **extra),
    "jecl_nr": lambda c: JECL(normalization=norm, beta=0, context=c, **extra),
    "jecl_nn": lambda c: JECL(normalization=norm, gamma=0, beta=0, context=c, **extra),
    "dec_img": lambda c: DEC(normalization=norm, view="0", context=c, **extra),
    "dec_txt": lambda c: DEC(normalization=norm, view="1", context=c, **extra),
    "dec_cat": lambda c: DEC(normalization=norm, view="concat", context=c, **extra),
}
for seed in seeds:
    for label in methods:
        m = table[label](RunContext(data_seed=1000 + seed))
        t = time.time()
        r = m.fit_predict(d, K, seed)
        acc = [round(evaluate(d.labels, labels)["acc"], 3) for labels in r.label_history]
        print(
            name,
            norm,
            seed,
            label,
            round(evaluate(d.labels, r.labels)["acc"], 3),
            f"{time.time() - t:.1f}s",
            r.info.get("epochs"),
            acc[:1],
            acc[-1:],
            flush=True,
        )
