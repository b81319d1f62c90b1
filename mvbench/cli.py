"""The ``mvbench`` command line.

Usage errors (unknown names, bad values, unusable stores) print one line naming the problem and
the fix, and exit with status 2; a grid with failed cells exits with status 1; a tracking store that
stays unreachable for the whole retry budget (``--tracking-retry-seconds``) exits with status 3.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import click

from mvbench.record.schema import DEFAULT_METRICS, FORMATS

# Heavy modules (numpy, pandas, h5py, MLflow, the plugins) are imported inside the commands that
# need them, so that `mvbench --help` and `mvbench list` start fast.


class CliError(click.ClickException):
    exit_code = 2


#: Exit status when the tracking store stayed unreachable for the whole retry budget (grid resumable).
EXIT_STORE_UNAVAILABLE = 3


def _data_paths(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """``--data-dir`` (else the environment, else the default) as the invocation's :class:`DataPaths`."""
    from mvbench.data.sources import DataPaths

    paths = DataPaths.resolve(value)
    keep_caches_in(paths)
    return paths


def keep_caches_in(paths: Any) -> None:
    """Libraries' caches go under the invocation's cache dir, not the home directory (matplotlib's
    font cache), unless the user chose a place."""
    os.environ.setdefault("MPLCONFIGDIR", str(paths.cache_dir / "matplotlib"))


def offline_defaults() -> None:
    """MLflow's telemetry off (it would send a request on every run), unless the user set it."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")


def data_dir_option(
    help_text: str = "Folder of prepared datasets (default: $MVBENCH_DATA_DIR or ~/.local/share/mvbench).",
) -> Any:
    return click.option("--data-dir", "paths", callback=_data_paths, help=help_text)


def usage_errors() -> tuple[type[BaseException], ...]:
    """The exception types that mean bad input (one line, exit status 2), not a bug."""
    from mvbench.config import ConfigError
    from mvbench.data.conditions import ConditionError
    from mvbench.data.model import DataValidationError
    from mvbench.data.sources import DatasetNameError, DatasetUnavailableError
    from mvbench.places import UnwritablePlaceError
    from mvbench.record.tracking import TrackingError
    from mvbench.registry import BrokenPluginError, UnknownNameError
    from mvbench.report.reported import RegistryError
    from mvbench.report.selection import SelectionError
    from mvbench.run.grid import GridError

    return (
        UnknownNameError,
        BrokenPluginError,
        ConfigError,
        ConditionError,
        GridError,
        DataValidationError,
        DatasetUnavailableError,
        DatasetNameError,
        TrackingError,
        RegistryError,
        SelectionError,
        UnwritablePlaceError,
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the click group, turning known errors into one-line messages."""
    offline_defaults()
    try:
        code = cli.main(args=argv, prog_name="mvbench", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:
        from mvbench.record.resilience import TrackingUnavailable

        if isinstance(exc, TrackingUnavailable):
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(EXIT_STORE_UNAVAILABLE)
        if not isinstance(exc, usage_errors()):
            raise
        click.echo(f"error: {' '.join(str(exc).split())}", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mvbench")
def cli() -> None:
    """mvbench: which multi-view clustering method works best on your data, honestly and repeatably."""


# -- run ---------------------------------------------------------------------------------------------
def split_list(value: str | None) -> list[str]:
    return [] if not value else [v.strip() for v in value.split(",") if v.strip()]


def parse_floats(value: str, option: str) -> list[float]:
    try:
        return [float(v) for v in split_list(value)]
    except ValueError:
        raise CliError(f"{option} takes numbers separated by commas, got {value!r}") from None


def parse_ints(value: str, option: str) -> list[int]:
    try:
        return [int(v) for v in split_list(value)]
    except ValueError:
        raise CliError(f"{option} takes whole numbers separated by commas, got {value!r}") from None


def grid_config(
    config_file: str | None,
    methods: str | None,
    datasets: str | None,
    missing_rate: str | None,
    missing_view: str | None,
    subsample: str | None,
    seeds: int | None,
    experiment: str | None,
    imputation: str | None,
    params: tuple[str, ...],
    missing_protocol: str | None = None,
    model_seeds: int | None = None,
    only_repetitions: str | None = None,
) -> dict[str, Any]:
    """The grid config from a YAML file (or the embedded default) overridden by CLI options."""
    from mvbench.run.grid import DEFAULT_CONFIG, load_config

    grid_options = any(
        v is not None for v in (methods, datasets, missing_rate, missing_view, subsample, seeds, missing_protocol)
    )
    if config_file:
        config = load_config(config_file)
    elif grid_options:
        default = load_config(DEFAULT_CONFIG)
        config = {"methods": default["methods"], "datasets": default["datasets"], "seeds": 5}
    else:
        config = load_config(DEFAULT_CONFIG)
    conditions = dict(config.get("conditions") or {})
    if methods is not None:
        config["methods"] = split_list(methods)
    if datasets is not None:
        config["datasets"] = split_list(datasets)
    if missing_rate is not None:
        conditions["missing_rate"] = parse_floats(missing_rate, "--missing-rate")
    if missing_view is not None:
        conditions["missing_view"] = split_list(missing_view)
    if subsample is not None:
        conditions["subsample"] = parse_floats(subsample, "--subsample")
    if missing_protocol is not None:
        conditions["missing_protocol"] = split_list(missing_protocol)
    config["conditions"] = conditions
    for key, value in (
        ("seeds", seeds),
        ("model_seeds", model_seeds),
        ("experiment", experiment),
        ("imputation", imputation),
    ):
        if value is not None:
            config[key] = value
    if only_repetitions is not None:
        config["only_repetitions"] = parse_ints(only_repetitions, "--only-repetitions")
    config.setdefault("experiment", "mvbench")
    for item in params:
        apply_param(config, item)
    return config


def choose_executor(
    config: dict[str, Any], executor: str | None, ray_address: str | None, workers: int | None
) -> tuple[str, str | None]:
    """The executor kind and Ray address from the options, else the grid YAML (``executor:``,
    ``ray_address:``); refuses combinations that cannot mean what they say."""
    kind = executor or str(config.get("executor", "local"))
    if kind not in ("local", "ray"):
        raise CliError(f"executor {kind!r} in the config: use local or ray")
    address = ray_address or config.get("ray_address")
    if kind != "ray" and address:
        raise CliError("--ray-address needs --executor ray")
    if kind == "ray" and workers:
        raise CliError("--workers sizes the local executor; with --executor ray the cluster's CPUs decide")
    return kind, (str(address) if address else None)


def config_timeout(config: dict[str, Any]) -> float | None:
    """The grid YAML's ``cell_timeout`` (seconds a cell may run), checked; None when absent."""
    value = config.get("cell_timeout")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise CliError(f"cell_timeout in the config must be a positive number of seconds, got {value!r}")
    return float(value)


def apply_param(config: dict[str, Any], item: str) -> None:
    """Apply ``NAME.KEY=VALUE`` to every entry of the grid's methods or datasets named NAME, labelled
    entries (``{name: NAME, params: ..., label: ...}``) included (VALUE is YAML: a list sweeps a
    method's hyper-parameter; a dataset's ``views`` takes a list of views, a list of lists sweeps)."""
    target, sep, raw = item.partition("=")
    name, dot, key = target.partition(".")
    if not sep or not dot or not key:
        raise CliError(f"--param takes NAME.KEY=VALUE (e.g. km.view=1 or handwritten.views=[0,1]), got {item!r}")
    value = parse_yaml_value(raw, f"--param {item!r}")
    for section in ("methods", "datasets"):
        entries, found = [], False
        for entry in config.get(section) or []:
            if entry == name:
                entry, found = {name: {key: value}}, True
            elif isinstance(entry, dict) and entry.get("name") == name:
                entry, found = {**entry, "params": {**(entry.get("params") or {}), key: value}}, True
            elif isinstance(entry, dict) and name in entry:
                entry, found = {name: {**(entry[name] or {}), key: value}}, True
            entries.append(entry)
        if found:
            config[section] = entries
            return
    raise CliError(f"--param {item!r} names {name!r}, which is not in the grid; add it to --methods or --datasets")


@cli.command()
@click.option("--methods", help="Comma-separated method names (see `mvbench list methods`).")
@click.option("--datasets", help="Comma-separated dataset names (see `mvbench datasets list`).")
@click.option("--missing-rate", help="Fraction(s) in [0, 1) of samples that lose a view, e.g. 0,0.1,0.3.")
@click.option("--missing-view", help="View to remove (name); default: a random view per incomplete sample.")
@click.option(
    "--missing-protocol",
    help="What a missing rate means: paired (share of incomplete samples, COMPLETER/DCP; default), pairs "
    "(share of sample-view pairs, PolyClustX), per_view (share per view, splitDigitData.m); commas sweep.",
)
@click.option("--subsample", help="Per-class fraction(s) (<= 1) or count(s) (> 1) of samples to keep.")
@click.option("--seeds", type=click.IntRange(min=1), help="Repetitions per cell (default 5).")
@click.option(
    "--model-seeds",
    type=click.IntRange(min=1),
    help="Model seeds per repetition, all on the repetition's mask (default 1).",
)
@click.option(
    "--only-repetitions",
    help="Run only these of the --seeds repetitions (0-based, e.g. 3,4), with the masks and seeds they have "
    "in the full grid: a grid split over machines or stores runs the same cells as the whole.",
)
@click.option("--experiment", help="MLflow experiment name (default: mvbench).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: sqlite:///mlflow.db here).")
@click.option(
    "--tracking-retry-seconds",
    type=click.FloatRange(min=0),
    default=300,
    show_default=True,
    help="How long to wait out an unreachable tracking store (finished cells wait in memory) before "
    "stopping with exit status 3.",
)
@click.option("--workers", type=click.IntRange(min=1), help="Parallel worker processes (default 1).")
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    help="local: this machine (serial, or --workers processes); ray: Ray tasks (default local).",
)
@click.option(
    "--ray-address",
    help="Ray cluster to join with --executor ray, e.g. HEAD:6379 (default: start a local Ray instance).",
)
@click.option("--config", "config_file", type=str, help="YAML grid config (see docs); CLI options override it.")
@click.option(
    "--param",
    "params",
    multiple=True,
    help="METHOD.KEY=VALUE hyper-parameter (a YAML list sweeps), or DATASET.views=[a,b] (a view subset).",
)
@click.option("--imputation", type=click.Choice(["mean", "zero"]), help="Imputation for methods that need it.")
@data_dir_option()
@click.option(
    "--memory-limit", type=click.FloatRange(min=0.1), help="GiB a cell may use (default: this machine's RAM)."
)
@click.option(
    "--cell-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a cell may run; a cell over it is stopped and logged as failed (default: no limit).",
)
@click.option("--force", is_flag=True, help="Re-run cells that already finished (old runs are kept).")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option(
    "--allow-variant",
    is_flag=True,
    help="Run a dataset file whose sha256 differs from the pinned one (its cells record the variant).",
)
def run(
    methods,
    datasets,
    missing_rate,
    missing_view,
    missing_protocol,
    subsample,
    seeds,
    model_seeds,
    only_repetitions,
    experiment,
    tracking_uri,
    tracking_retry_seconds,
    workers,
    executor,
    ray_address,
    config_file,
    params,
    imputation,
    paths,
    memory_limit,
    cell_timeout,
    force,
    no_progress,
    allow_variant,
) -> int:
    """Run a grid of methods x datasets x conditions x seeds and log every cell to MLflow."""
    from mvbench.places import check_store
    from mvbench.record.tracking import Tracker, resolve_uri
    from mvbench.report.tables import aggregate, render, runs_frame
    from mvbench.run.executors import make_executor
    from mvbench.run.grid import spec_from_config
    from mvbench.run.planning import plan
    from mvbench.run.runner import crashed_result, run_grid

    config = grid_config(
        config_file,
        methods,
        datasets,
        missing_rate,
        missing_view,
        subsample,
        seeds,
        experiment,
        imputation,
        params,
        missing_protocol,
        model_seeds,
        only_repetitions,
    )
    spec = spec_from_config(config)
    kind, ray_address = choose_executor(config, executor, ray_address, workers)
    workers = workers or int(config.get("workers", 1))
    limit = int(memory_limit * 2**30) if memory_limit else None
    check_store(resolve_uri(tracking_uri))  # before Ray starts and datasets are prepared: nothing logged
    cell_timeout = cell_timeout or config_timeout(config)
    # joins Ray here: a bad address logs nothing
    runner = make_executor(workers, crashed_result, kind, ray_address, cell_timeout=cell_timeout)
    grid = plan(spec, paths, limit, allow_variant=allow_variant)
    for warning in grid.warnings:
        click.echo(f"warning: {warning}", err=True)
    tracker = Tracker(tracking_uri, spec.experiment, retry_seconds=tracking_retry_seconds)
    command = "mvbench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    outcome = run_grid(
        grid,
        tracker,
        workers=workers,
        force=force,
        command=command,
        config=config,
        show_progress=not no_progress,
        executor=runner,
    )
    counts = outcome.counts
    if outcome.skipped_done:
        click.echo(
            f"{outcome.skipped_done} of {len(grid.cells)} cells already finished in experiment "
            f"{spec.experiment!r}: skipped (--force reruns them)",
            err=True,
        )
    agg = aggregate(runs_frame(tracker, [c.key for c in grid.cells]), DEFAULT_METRICS)
    click.echo(render(agg, "table", DEFAULT_METRICS, color=sys.stdout.isatty()))
    click.echo(
        f"ran {len(outcome.ran)} cells: {counts['done']} done, {counts['failed']} failed, {counts['skipped']} skipped"
    )
    for result in outcome.ran:
        if result.status != "done":
            click.echo(f"  {result.status}: {result.cell.run_name}: {result.error}")
    if outcome.left_to_others:
        click.echo(
            f"left {len(outcome.left_to_others)} cells to another invocation computing them "
            f"(`mvbench status` shows when they are done)"
        )
    if outcome.leases_lost:
        click.echo(
            f"warning: {len(outcome.leases_lost)} cells outlived their lease (taken over by another invocation, "
            f"which logs them; their work here was not logged): raise MVBENCH_LEASE_SECONDS",
            err=True,
        )
    uri = resolve_uri(tracking_uri)
    click.echo(
        f"compare the runs: mvbench ui --experiment {shlex.quote(spec.experiment)}"
        f"{'' if uri == resolve_uri(None) else ' --tracking-uri ' + shlex.quote(uri)}"
        f"  (prints the URLs of its runs table and of the grid's report)"
    )
    if outcome.interrupted:
        click.echo("interrupted: finished cells are logged; run the same command again to complete the grid")
        return 130
    return 1 if counts["failed"] else 0


# -- report / status / ui -----------------------------------------------------------------------------
@cli.command()
@click.option("--experiment", default="mvbench", show_default=True)
@click.option("--tracking-uri")
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "html", "runs"]),
    default="table",
    show_default=True,
    help="html: one self-contained file (tables, plots, significance, settings) that opens offline; "
    "runs: CSV of every finished cell (settings, seed, final metrics), one row each.",
)
@click.option(
    "--metrics",
    help=f"Comma-separated: acc, nmi, ari, purity, fit_seconds, peak_memory_mb. "
    f"[default: {','.join(DEFAULT_METRICS)}; every logged metric with --format runs]",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option(
    "--records",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Rebuild the tables from these --format runs files instead of a store (repeat for several; "
    "a cell in several files counts once, its latest run).",
)
@click.option(
    "--significance",
    is_flag=True,
    help="Add average ranks, Friedman and Wilcoxon tests (first metric; always in html).",
)
@click.option(
    "--diagnostics",
    is_flag=True,
    help="Add clusters used, largest-cluster share, convergence and degenerate flags per method x dataset x condition.",
)
@click.option(
    "--plot",
    "plot_x",
    help="Plot the first metric against a condition (missing_rate, subsample) "
    "or a swept hyper-parameter; saved as PNG and logged to the latest grid run.",
)
@click.option("--plot-dir", default="plots", show_default=True, help="Folder for --plot PNGs.")
@click.option(
    "--log",
    "log_report",
    is_flag=True,
    help="Attach the rebuilt report (HTML, markdown, plots) to the experiment's latest grid run, for the MLflow UI.",
)
@click.option(
    "--reported",
    is_flag=True,
    help="Add published figures (benchmarks/reported/*.yaml) beside the reproduced ones, under the same protocol only.",
)
@click.option("--reported-dir", type=click.Path(file_okay=False), help="Folder of reported-figure YAML files.")
@click.option(
    "--select",
    "select_rule",
    type=click.Choice(["last", "min_loss", "silhouette", "calinski_harabasz", "oracle"]),
    help="Add a selection track (first metric): last epoch; label-free min_loss, silhouette, calinski_harabasz; "
    "or oracle (uses the labels).",
)
def report(
    experiment,
    tracking_uri,
    fmt,
    metrics,
    output,
    records,
    significance,
    diagnostics,
    plot_x,
    plot_dir,
    log_report,
    reported,
    reported_dir,
    select_rule,
) -> None:
    """Rebuild the comparison table of an experiment from MLflow (and plots, significance, an HTML report)."""
    from mvbench.data.sources import DataPaths
    from mvbench.record.tracking import Tracker
    from mvbench.report.tables import aggregate, render, runs_csv, runs_frame, significance_text

    keep_caches_in(DataPaths.resolve())
    named = split_list(metrics) if metrics is not None else None
    tracker: Tracker | None = None
    if records:
        frame = frame_of_records(records, tracking_uri, fmt, log_report)
        source, rerun = f"records {', '.join(records)}", "have a later run in these records"
    else:
        tracker = Tracker(tracking_uri, experiment, create=False)
        frame = runs_frame(tracker)
        source = f"experiment {experiment!r}"
        rerun = "ran an older version of their method's code and were re-run since"
    if frame.attrs.get("superseded"):
        click.echo(
            f"note: {frame.attrs['superseded']} finished cell(s) {rerun}; only the latest run of each counts", err=True
        )
    if fmt == "runs":
        extras = [
            flag
            for flag, on in (
                ("--significance", significance),
                ("--diagnostics", diagnostics),
                ("--plot", plot_x),
                ("--log", log_report),
                ("--reported", reported or reported_dir),
                ("--select", select_rule),
            )
            if on
        ]
        if extras:
            raise CliError(f"--format runs writes the runs alone; drop {', '.join(extras)} or use another --format")
        emit(runs_csv(frame, checked_metrics(frame, named, source) if named is not None else None), output)
        return
    metric_list = checked_metrics(frame, list(DEFAULT_METRICS) if named is None else named, source)
    parents = tracker.parent_runs() if tracker is not None else []
    if log_report and not parents:
        raise CliError(f"--log: experiment {experiment!r} has no grid run to attach the report to")
    full: Any = None
    if tracker is not None and (fmt == "html" or log_report):  # --records refused both
        from mvbench.report.html import collect

        full = collect(tracker, metric_list)
    sections = extra_sections(frame, metric_list, reported, reported_dir, select_rule)
    if full is not None:
        full.sections.extend(sections)
    if fmt == "html":
        from mvbench.report.html import to_html

        text = to_html(full)
    else:
        text = render(aggregate(frame, metric_list), fmt, metric_list, color=output is None and sys.stdout.isatty())
    if significance and fmt != "html" and not frame.empty:
        from mvbench.report.significance import summary

        try:
            text += "\n" + significance_text(*summary(frame, metric_list[0]))
        except ValueError as exc:
            raise CliError(f"--significance: {exc}") from None
    if fmt != "html":
        text += "".join(f"\n{section.text(fmt)}\n" for section in sections)
    if diagnostics and fmt != "html":
        from mvbench.report.diagnostics import diagnostics as diagnose
        from mvbench.report.diagnostics import render_diagnostics

        text += "\n" + render_diagnostics(diagnose(frame), fmt) + "\n"
    emit(text, output)
    if log_report and tracker is not None:
        from mvbench.report.html import attach

        attach(tracker, parents[0].info.run_id, full)
        click.echo(
            f"report attached to grid run {parents[0].info.run_id} (artifacts report/report.html, "
            f"report/report.md, {len(full.plots)} plot(s); the markdown tables as its description)"
        )
    if plot_x:
        from mvbench.report.plots import plot

        try:
            path = plot(
                frame, plot_x, metric_list[0], Path(plot_dir) / f"{experiment}_{metric_list[0]}_vs_{plot_x}.png"
            )
        except ValueError as exc:
            raise CliError(str(exc)) from None
        if parents and tracker is not None:
            tracker.client.log_artifact(parents[0].info.run_id, str(path), "plots")
        click.echo(f"plot: {path}" + (f" (logged to grid run {parents[0].info.run_id})" if parents else ""))


def frame_of_records(records: tuple[str, ...], tracking_uri: str | None, fmt: str, log_report: bool) -> Any:
    """The runs frame of ``--records`` files; a usage error for the options that need a store."""
    from mvbench.report.tables import records_frame

    needs_store = [
        flag
        for flag, on in (("--tracking-uri", tracking_uri), ("--format html", fmt == "html"), ("--log", log_report))
        if on
    ]
    if needs_store:
        raise CliError(f"--records reads the runs from files, without a store; drop {', '.join(needs_store)}")
    try:
        return records_frame(records)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def checked_metrics(frame: Any, metric_list: list[str], source: str) -> list[str]:
    """``metric_list``, once it is checked to be non-empty and logged in ``source``'s runs (any name
    passes while it has no finished cell); a usage error otherwise."""
    from mvbench.report.tables import metric_columns

    unknown = [m for m in metric_list if m not in frame.columns]
    if not metric_list or (unknown and not frame.empty):
        raise CliError(
            f"--metrics: {', '.join(unknown) or '(none given)'} not logged in {source}; "
            f"logged metrics: {', '.join(sorted(metric_columns(frame)))}"
        )
    return metric_list


def emit(text: str, output: str | None) -> None:
    """Write a report to ``output``, or print it."""
    if output:
        Path(output).write_text(text)
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


def extra_sections(
    frame: Any, metrics: list[str], reported: bool, reported_dir: str | None, select_rule: str | None
) -> list[Any]:
    """The report's optional sections: published figures beside reproduced ones, a selection track."""
    from mvbench.report.html import Section

    sections = []
    if reported or reported_dir:
        from mvbench.report.reported import DEFAULT_DIR, compare, load_registry

        comparison = compare(frame, load_registry(reported_dir or DEFAULT_DIR), metrics)
        sections.append(Section.of_comparison(comparison))
    if select_rule:
        from mvbench.report.selection import select

        sections.append(Section.of_selection(select(frame, select_rule, metrics[0]), select_rule))
    return sections


@cli.command()
@click.option("--experiment", default="mvbench", show_default=True)
@click.option("--tracking-uri")
def status(experiment, tracking_uri) -> None:
    """Show which cells of the experiment's latest grid are done, failed, skipped or missing."""
    from mvbench.record.status import read_status

    found = read_status(tracking_uri, experiment)
    if found.cells is None:
        raise CliError(f"experiment {experiment!r} has no grid runs yet: start one with mvbench run")
    counts: dict[str, int] = {}
    lines = []
    for cell, state, error in found.states():
        counts[state] = counts.get(state, 0) + 1
        if state != "done":
            lines.append(
                f"  {state:8s} {cell['method']} | {cell['dataset']} | {cell['condition']} | "
                f"rep {cell['repetition']}" + (f": {error}" if error else "")
            )
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "failed", "skipped", "missing"))
    click.echo(f"experiment {experiment!r}, latest grid ({len(found.cells)} cells): {summary}")
    for line in lines:
        click.echo(line)


@cli.command()
@click.option("--experiment", help="Experiment to open (default: the one whose mvbench grid ran last, else mvbench).")
@click.option("--tracking-uri")
@click.option("--port", default=5000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
def ui(experiment, tracking_uri, port, host) -> int:
    """Start the MLflow UI on the same store and print the URL of the experiment's runs (Ctrl-C or SIGTERM
    stops the server and its workers)."""
    from mvbench.record.schema import NOTE_TAG
    from mvbench.record.tracking import Tracker, find_experiment, report_url, resolve_uri, runs_url

    uri = resolve_uri(tracking_uri)
    remote = uri.startswith(("http://", "https://"))  # a tracking server is its own UI: print its URLs
    base = uri.rstrip("/") if remote else f"http://{host}:{port}"
    found = find_experiment(uri, experiment)
    if found is None and experiment is not None:
        raise CliError(
            f"no experiment named {experiment!r} in {uri}: run `mvbench run --experiment {experiment}` "
            f"first, or leave out --experiment"
        )
    click.echo(
        f"MLflow UI of the tracking server {base}" if remote else f"MLflow UI on {base} (store {uri}); Ctrl-C stops it"
    )
    if found is None:
        click.echo("  no mvbench experiment in this store yet: `mvbench run` makes one")
    else:
        click.echo(f"  runs of experiment {found.name!r}: {runs_url(base, found)}")
        parents = Tracker(uri, found.name, create=False).parent_runs()
        if parents and NOTE_TAG in parents[0].data.tags:
            click.echo(f"  report of its latest grid:  {report_url(base, parents[0])}")
    if remote:
        return 0
    # One worker and no GenAI job runner: 2 processes instead of about 15, ready 3x sooner on a busy machine.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}
    # Its own session, so that stopping this command can stop the server's whole process group.
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            uri,
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        start_new_session=True,
        env=env,
    )

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        stop_process_group(server)


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``process``, then SIGKILL what is left after ``grace`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(grace)
            os.killpg(process.pid, 0)  # the leader is gone; its workers may not be
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            pass


# -- list -------------------------------------------------------------------------------------------------
@cli.command(name="list")
@click.argument("what", type=click.Choice(["methods", "datasets"]))
@click.option("--verbose", "-v", is_flag=True, help="Show hyper-parameters and defaults.")
def list_(what, verbose) -> None:
    """List registered methods or datasets (broken plugins show their import error)."""
    from mvbench import registry
    from mvbench.config import describe_config

    reg = registry.methods() if what == "methods" else registry.datasets()
    for info in reg.info():
        if info.broken:
            click.echo(f"{info.name:22s} BROKEN  {info.error}")
            continue
        obj = reg.get(info.name)
        summary = getattr(obj, "description", "") or first_sentence(obj.__doc__ or "")
        extra = ""
        if what == "methods":
            caps = obj.capabilities
            extra = (
                f"[{'missing-views' if caps.handles_missing else 'imputed'}, views {caps.min_views}-"
                f"{caps.max_views or 'any'}] "
            )
        click.echo(f"{info.name:22s} {extra}{summary}")
        if verbose:
            config_cls = obj.Config
            for name, type_name, default in describe_config(config_cls):
                click.echo(f"    {name}: {type_name} = {default}")


def first_sentence(doc: str) -> str:
    """The first sentence of a docstring's first paragraph, unwrapped (a wrapped line is not cut)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    return re.split(r"(?<=[.;])\s+(?=[A-Z])", paragraph)[0]


# -- datasets -------------------------------------------------------------------------------------------
@cli.group(name="datasets")
def datasets_group() -> None:
    """List, inspect, prepare and validate datasets."""


@datasets_group.command(name="list")
@data_dir_option()
def datasets_list(paths) -> None:
    """Registered datasets: size, views, K, whether prepared here, and where they come from."""
    from mvbench import registry
    from mvbench.data import sources, store

    click.echo(f"{'name':16s} {'n':>7s} {'V':>3s} {'K':>4s}  {'prepared':8s} source")
    for info in registry.datasets().info():
        if info.broken:
            click.echo(f"{info.name:16s} BROKEN {info.error}")
            continue
        source = sources.get_source(info.name, paths)
        path = paths.prepared_path(info.name)
        n: Any = "?"
        v: Any = "?"
        k: Any = source.n_clusters or "?"
        if path.exists():
            data = store.load(path)
            n, v, k = data.n_samples, data.n_views, data.n_clusters
        click.echo(
            f"{info.name:16s} {n!s:>7s} {v!s:>3s} {k!s:>4s}  {'yes' if path.exists() else 'no':8s} {source.description}"
        )
        if source.pinned_sha256:
            click.echo(f"{'':16s} raw file sha256 {source.pinned_sha256} (pinned)")
    for name, imported in sources.imported_datasets(paths).items():
        data = store.load(paths.prepared_path(name))
        click.echo(
            f"{name:16s} {data.n_samples!s:>7s} {data.n_views!s:>3s} {data.n_clusters!s:>4s}  {'yes':8s} "
            f"[imported] {imported.description}"
        )


def parse_kv(items: tuple[str, ...], option: str) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CliError(f"{option} takes KEY=VALUE, got {item!r}")
        out[key] = parse_yaml_value(raw, f"{option} {item!r}")
    return out


def parse_yaml_value(raw: str, where: str) -> Any:
    """A value written in YAML (a number, a string, a [list] for a sweep), with a one-line error."""
    import yaml

    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = str(getattr(exc, "problem", "") or "not valid YAML")
        raise CliError(f"{where}: cannot read the value {raw!r} ({problem}); write e.g. 3, abc or [1, 10]") from None


@datasets_group.command(name="prepare")
@click.argument("name")
@click.option("--raw", help="Folder or file holding the raw source.")
@click.option("--param", "params", multiple=True, help="Builder option KEY=VALUE.")
@data_dir_option()
@click.option("--force", is_flag=True, help="Rebuild even if a prepared file exists.")
@click.option(
    "--allow-variant", is_flag=True, help="Accept a raw file whose sha256 differs from the pinned one (recorded)."
)
def datasets_prepare(name, raw, params, paths, force, allow_variant) -> None:
    """Build dataset NAME from its raw source into the data directory."""
    from mvbench.data import sources, store

    path = sources.prepare(name, paths, parse_kv(params, "--param"), raw, force=force, allow_variant=allow_variant)
    data = store.load(path)
    variant = sources.check_variant(name, data.card, allow_variant)
    if variant:
        click.echo(f"note: {name} is a variant: raw sha256 {variant}, recorded on its card and in its cells", err=True)
    click.echo(f"{name}: {path} (n={data.n_samples}, views={data.n_views}, K={data.n_clusters})")


@datasets_group.command(name="info")
@click.argument("name")
@data_dir_option()
def datasets_info(name, paths) -> None:
    """The card and views of dataset NAME (prepared file, or a path to an .h5 file)."""
    import yaml

    from mvbench.data import sources, store

    path = Path(name) if name.endswith(".h5") else paths.prepared_path(name)
    if not path.exists():
        source = sources.get_source(name, paths)
        click.echo(f"{name}: not prepared ({source.description}); run `mvbench datasets prepare {name}`")
        return
    data = store.load(path)
    click.echo(
        yaml.safe_dump(
            {
                "file": str(path),
                "n": data.n_samples,
                "K": data.n_clusters,
                "views": {n: d for n, d in zip(data.view_names, data.view_dims)},
                "observed_fraction": {
                    n: round(float(data.mask[:, v].mean()), 4) for v, n in enumerate(data.view_names)
                },
                "card": data.card.to_dict(),
            },
            sort_keys=False,
            allow_unicode=True,
        )
    )


@datasets_group.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Dataset name; the file becomes <data dir>/<name>.h5.")
@click.option("--views-key", help="Cell array of the views, or comma-separated matrix keys (e.g. x1,x2).")
@click.option("--labels-key", help="Variable holding the labels.")
@click.option(
    "--orientation",
    type=click.Choice(["auto", "rows", "cols"]),
    default="auto",
    show_default=True,
    help="rows: views are n x d; cols: d x n.",
)
@click.option("--view-names", help="Comma-separated view names, in order.")
@click.option("--mask-key", help="0/1 n x V matrix (1 = observed) to use as the missing-view mask.")
@data_dir_option()
@click.option("--force", is_flag=True, help="Replace an existing dataset file of that name.")
def datasets_import(file, name, views_key, labels_key, orientation, view_names, mask_key, paths, force) -> None:
    """Import a community multi-view MATLAB .mat FILE as dataset NAME (validated HDF5)."""
    from mvbench.data import sources, store
    from mvbench.data.degenerate import check_clusterable, constant_views
    from mvbench.data.download import sha256_file
    from mvbench.data.matlab import import_mat
    from mvbench.places import check_folder

    sources.check_new_name(name)
    check_folder(paths.data_dir, "the data dir", "pass --data-dir DIR or set MVBENCH_DATA_DIR to a writable folder")
    path = paths.prepared_path(name)
    if path.exists() and not force:
        raise CliError(f"{path} already exists: pass --force to replace it, or choose another --name")
    data = import_mat(
        file,
        name=name,
        views_key=views_key,
        labels_key=labels_key,
        orientation=orientation,
        view_names=split_list(view_names) if view_names else None,
        mask_key=mask_key,
    )
    check_clusterable(data.mask, data.labels, data.view_names)
    data.card.extra["imported"] = {"file": Path(file).name, "sha256": sha256_file(file)}
    store.save(data, path)
    for view in constant_views(data):
        click.echo(f"warning: view {view!r} has zero variance (all observed rows identical)", err=True)
    extra = data.card.extra
    dims = ", ".join(f"{n}:{d}" for n, d in zip(data.view_names, data.view_dims))
    nonfinite = extra.get("nonfinite_rows_marked_missing")
    if nonfinite:
        rows = ", ".join(f"{count} in view {view!r}" for view, count in nonfinite.items())
        click.echo(f"note: rows holding NaN or Inf became missing views: {rows} (recorded on the card)", err=True)
    click.echo(
        f"{name}: {path} (n={data.n_samples}, views=[{dims}], K={data.n_clusters}, "
        f"views from {extra['views_from']}, labels {extra.get('label_key')}, "
        f"observed {data.mask.mean():.3f}); run it with: mvbench run --datasets {name}"
    )


@datasets_group.command(name="validate")
@click.argument("file", type=click.Path())
def datasets_validate(file) -> None:
    """Check an mvbench HDF5 file against the schema (exit 2 with the problem if invalid)."""
    from mvbench.data import store

    data = store.validate_file(file)
    click.echo(
        f"{file}: valid (schema {store.SCHEMA_VERSION}, n={data.n_samples}, views={data.n_views}, "
        f"K={data.n_clusters}, sha256={data.card.sha256[:16]})"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
