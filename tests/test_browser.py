"""A real Chromium opens what a researcher opens: the MLflow UI served by ``mvbench ui`` after a
grid, and the HTML report.

Needs the ``browser`` extra (playwright) and a system Chromium (Debian: ``apt-get install
chromium``; or point ``MVBENCH_CHROMIUM`` at a Chromium/Chrome binary); skipped otherwise.
Screenshots (and a print of the report as PDF) are kept under the pytest tmp dir, in the
``screenshots0`` folder of the run (``pytest --basetemp DIR`` to choose where).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mvbench.cli import main
from mvbench.record.tracking import Tracker

playwright = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install 'mvbench[browser]'")

CHROMIUM = os.environ.get("MVBENCH_CHROMIUM") or next(
    (
        path
        for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
        if (path := shutil.which(name))
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium found: apt-get install chromium (or set MVBENCH_CHROMIUM to a Chromium/Chrome binary)",
)

EXPERIMENT = "browser"
GRID = (
    "run --methods km,km_concat --datasets synthetic --missing-rate 0,0.3 --seeds 2 "
    f"--param km_concat.n_init=[1,3] --experiment {EXPERIMENT} --no-progress"
).split()


def call(args: list[str]) -> None:
    """Run the mvbench command line in this process; fail on a non-zero exit."""
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 0, f"mvbench {' '.join(args)} exited with {exit_.value.code}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A fresh `mvbench run` in its own folder (store, artifacts, data), as a researcher would start."""
    path = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(path)
        mp.setenv("MVBENCH_DATA_DIR", str(path / "data"))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        call(GRID)
    return path


class UI:
    """`mvbench ui` on a store, started at once; ``urls()`` waits for its URLs and its server."""

    def __init__(self, folder: Path) -> None:
        self.port, self.log = free_port(), folder / "ui.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mvbench", "ui", "--port", str(self.port)],
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def urls(self) -> dict[str, str]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            urls = dict(re.findall(r"^\s+(runs|report) .*?(http://\S+)", self.log.read_text(), re.M))
            with socket.socket() as s:
                if len(urls) == 2 and s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return urls
            time.sleep(0.3)
        pytest.fail(f"mvbench ui did not print both URLs or its server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Ctrl-C: the command exits with 130 and its server no longer listens."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(60) == 130
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", self.port)) != 0, "the MLflow server still listens after Ctrl-C"


@pytest.fixture(scope="module")
def ui(folder):
    server = UI(folder)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def test_report_html_renders_offline_and_prints(folder, ui, browser, shots):
    report = folder / "report.html"  # (ui: its server boots meanwhile)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        call(["report", "--experiment", EXPERIMENT, "--format", "html", "-o", str(report)])
    context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.goto(report.as_uri())
    # The paper-style table of the complete condition: a row per method variant, the best in bold.
    rows = page.locator("#results-1 tbody tr:not(.group)")
    assert rows.locator("th").all_inner_texts() == ["km", "km_concat(n_init=1)", "km_concat(n_init=3)"]
    assert page.locator("#results-1 td.best strong").count() >= 3
    assert page.locator("#results-1 thead").inner_text().split() == [
        "method",
        "synthetic",
        "ACC",
        "↑",
        "NMI",
        "↑",
        "ARI",
        "↑",
    ]
    # Inline plots decoded and drawn: ACC per method, against the missing rate and the swept n_init.
    plots = page.locator("#plots figure img")
    assert plots.count() == 3
    for i in range(3):
        assert plots.nth(i).evaluate("img => img.complete && img.naturalWidth > 200")
    assert page.locator("#significance").inner_text().count("Friedman") == 1
    page.screenshot(path=shots / "report.png", full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=shots / "report-print.pdf", prefer_css_page_size=True)
    assert (shots / "report-print.pdf").read_bytes()[:4] == b"%PDF"
    context.close()
    assert errors == [] and requests == []


def test_mlflow_ui_lands_on_the_runs_with_acc(folder, ui, browser, shots):
    tracker = Tracker(f"sqlite:///{folder}/mlflow.db", EXPERIMENT, create=False)
    cell = next(
        r for r in tracker.cell_runs() if r.info.run_name == "km_concat(n_init=3) · synthetic · complete · rep 0"
    )
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(ui.urls()["runs"])
    acc = page.locator(f'.ag-row[row-id="{cell.info.run_id}"] [col-id="metrics.`acc`"]')
    acc.wait_for(timeout=60_000)
    assert "/runs" in page.url and "overview" not in page.url
    assert page.get_by_text(cell.info.run_name, exact=True).is_visible()
    assert float(acc.inner_text()) == pytest.approx(cell.data.metrics["acc"], abs=1e-6)
    assert page.locator('.ag-header-cell[col-id="params.`condition.missing_rate`"]').count() == 1
    page.screenshot(path=shots / "mlflow-runs.png")
    page.close()


def test_mlflow_ui_shows_the_grid_report(ui, browser, shots):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(ui.urls()["report"])
    report = page.frame_locator("iframe").first
    report.locator("#results-1").wait_for(timeout=60_000)
    assert report.locator("#results-1 tbody th").all_inner_texts()[:1] == ["km"]
    assert report.locator("#plots figure img").count() == 3
    page.screenshot(path=shots / "mlflow-report.png")
    page.close()
