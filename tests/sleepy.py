"""Test-only methods that take their time, and the CLI run with them registered.

``sleeper`` sleeps ``seconds`` and then labels each sample by its first view's largest feature among
the first K; ``hang`` never returns (a method stuck in a loop). They are registered in code, not by
entry point: :func:`cli` runs ``mvbench`` in a new interpreter with them registered, and worker
processes import them from this module (``tests/`` on ``PYTHONPATH``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvbench import Capabilities, FitResult, Method

TESTS = Path(__file__).resolve().parent


@dataclass
class SleeperConfig:
    seconds: float = 1.0


class Sleeper(Method):
    """Sleeps, then labels by the first view (cheap and deterministic)."""

    Config = SleeperConfig
    capabilities = Capabilities(handles_missing=True)

    def fit_predict(self, data, n_clusters, seed):
        time.sleep(self.config.seconds)
        return FitResult(np.argmax(data.view(0)[:, :n_clusters], axis=1))


class Hang(Method):
    """Never returns."""

    capabilities = Capabilities(handles_missing=True)

    def fit_predict(self, data, n_clusters, seed):
        while True:
            time.sleep(1.0)


def register() -> None:
    from mvbench import registry

    registry.methods().register("sleeper", Sleeper, replace_existing=True)
    registry.methods().register("hang", Hang, replace_existing=True)


def main() -> None:
    """``mvbench`` with the slow methods registered (the command line is ``sys.argv[1:]``)."""
    register()
    from mvbench.cli import main as mvbench_main

    mvbench_main()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``mvbench ARGS`` with the slow methods registered; stdout and stderr are piped (text)."""
    path = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        [sys.executable, "-c", "import sleepy; sleepy.main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path, **(env or {})},
    )
