"""Published figures beside reproduced ones: the registry of ``benchmarks/reported/*.yaml``.

One YAML file per source (a paper's table, a repository's results file, another paper's comparison
table), in the format of ``benchmarks/reported/README.md``; values are fractions like mvbench's
metrics. :func:`load_registry` validates every file (one-line :class:`RegistryError` naming the file,
the entry and the fix). :func:`compare` puts each reproduced group (method x dataset x condition)
beside the entries recorded under the *same protocol*: method, dataset, views, missing-view protocol
and rate, metric and every hyper-parameter the entry names must agree, on complete, un-subsampled
data or a random missing view; an entry that differs is listed as not matched with the difference,
never compared.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mvbench.data.conditions import MISSING_PROTOCOLS, PAIRED
from mvbench.record.schema import PARAM_PREFIX

SELECTIONS = ("last_epoch", "best_epoch_by_labels", "one_seed", "mean_of_n", "not_stated")
ORIGINS = ("own", "third_party")
METRICS = ("acc", "nmi", "ari", "purity")
FILE_KEYS = {"source", "citation", "where", "entries"}
REQUIRED = ("method", "dataset", "missing_rate", "metric", "value", "selection", "origin")
OPTIONAL = ("dataset_sha256", "views", "params", "missing_protocol", "std", "runs", "note")
#: The registry of this checkout (``mvbench report --reported`` reads it unless told another folder).
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "reported"


class RegistryError(ValueError):
    """A registry file is malformed (one-line message naming the file, the entry and the fix)."""


@dataclass(frozen=True)
class Reported:
    """One published figure and the protocol it was obtained under."""

    source: str
    method: str
    dataset: str
    metric: str
    value: float
    missing_rate: float
    missing_protocol: str = PAIRED
    views: tuple[str, ...] | None = None
    params: tuple[tuple[str, Any], ...] = ()
    dataset_sha256: str | None = None
    std: float | None = None
    runs: int | None = None
    selection: tuple[str, ...] = ("not_stated",)
    origin: str = "own"
    note: str = ""

    def text(self) -> str:
        """``0.387 ± 0.012 (5 runs; mean_of_n)``: the figure with its spread and selection rule."""
        spread = "" if self.std is None else f" ± {self.std:.3f}"
        runs = "" if self.runs is None else f"{self.runs} runs; "
        return f"{self.value:.3f}{spread} ({runs}{'+'.join(self.selection)})"

    def protocol(self) -> str:
        views = "all views" if self.views is None else "+".join(self.views)
        params = "".join(f", {k}={v}" for k, v in self.params)
        return f"{views}, {self.missing_protocol} r={self.missing_rate:g}{params}"


def load_registry(folder: str | Path = DEFAULT_DIR) -> list[Reported]:
    """Every entry of every ``*.yaml`` file of ``folder`` (validated; sorted by file name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RegistryError(f"reported-figures folder {folder} does not exist: pass --reported-dir DIR")
    return [entry for path in sorted(folder.glob("*.yaml")) for entry in load_file(path)]


def load_file(path: str | Path) -> list[Reported]:
    """The entries of one registry file, validated against the schema."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path.name}: not valid YAML: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(doc, dict):
        raise RegistryError(f"{path.name}: must hold a mapping with keys {', '.join(sorted(FILE_KEYS))}")
    missing, unknown = FILE_KEYS - set(doc), set(doc) - FILE_KEYS
    if missing or unknown:
        problem = f"missing {', '.join(sorted(missing))}" if missing else f"unknown {', '.join(sorted(unknown))}"
        raise RegistryError(f"{path.name}: top-level keys: {problem}; expected {', '.join(sorted(FILE_KEYS))}")
    if doc["source"] != path.stem:
        raise RegistryError(f"{path.name}: source {doc['source']!r} must equal the file name's stem {path.stem!r}")
    for key in ("citation", "where"):
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise RegistryError(f"{path.name}: {key} must be a non-empty string")
    if not isinstance(doc["entries"], list) or not doc["entries"]:
        raise RegistryError(f"{path.name}: entries must be a non-empty list")
    return [parse_entry(item, path.stem, f"{path.name}: entry {i + 1}") for i, item in enumerate(doc["entries"])]


def parse_entry(item: Any, source: str, where: str) -> Reported:
    """One validated entry; ``where`` names it in errors (file and position)."""
    if not isinstance(item, dict):
        raise RegistryError(f"{where}: must be a mapping (method:, dataset:, ...)")
    where = f"{where} ({item.get('method', '?')}/{item.get('dataset', '?')})"
    missing = [k for k in REQUIRED if k not in item]
    if missing:
        raise RegistryError(f"{where}: missing {', '.join(missing)}")
    unknown = set(item) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise RegistryError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; valid: {', '.join(REQUIRED + OPTIONAL)}"
        )
    for key in ("method", "dataset"):
        if not isinstance(item[key], str) or not item[key]:
            raise RegistryError(f"{where}: {key} must be a registered name (a string)")
    metric = item["metric"]
    if metric not in METRICS:
        raise RegistryError(f"{where}: metric {metric!r} is not one of {', '.join(METRICS)}")
    value = _number(item["value"], "value", where)
    low = -1.0 if metric == "ari" else 0.0
    if not low <= value <= 1.0:
        raise RegistryError(f"{where}: value {value} is outside [{low:g}, 1]: write fractions (0.4107, not 41.07)")
    std = None if item.get("std") is None else _number(item["std"], "std", where)
    if std is not None and not 0 <= std <= 1:
        raise RegistryError(f"{where}: std {std} is outside [0, 1]: write fractions (0.0135, not 1.35)")
    rate = _number(item["missing_rate"], "missing_rate", where)
    if not 0 <= rate < 1:
        raise RegistryError(f"{where}: missing_rate {rate} is outside [0, 1)")
    protocol = item.get("missing_protocol") or PAIRED
    if protocol not in MISSING_PROTOCOLS:
        raise RegistryError(f"{where}: missing_protocol {protocol!r} is not one of {', '.join(MISSING_PROTOCOLS)}")
    selection = item["selection"]
    selection = [selection] if isinstance(selection, str) else selection
    if not isinstance(selection, list) or not selection or any(s not in SELECTIONS for s in selection):
        raise RegistryError(f"{where}: selection {item['selection']!r}: give a list of {', '.join(SELECTIONS)}")
    if item["origin"] not in ORIGINS:
        raise RegistryError(f"{where}: origin {item['origin']!r} is not one of {', '.join(ORIGINS)}")
    runs = item.get("runs")
    if runs is not None and (not isinstance(runs, int) or isinstance(runs, bool) or runs < 1):
        raise RegistryError(f"{where}: runs must be a positive integer or null, got {runs!r}")
    views = item.get("views")
    if views is not None and (not isinstance(views, list) or not views or not all(isinstance(v, str) for v in views)):
        raise RegistryError(f"{where}: views must be a list of view names (e.g. [gist, lbp]) or null for all views")
    params = item.get("params") or {}
    if not isinstance(params, dict):
        raise RegistryError(f"{where}: params must be a mapping of hyper-parameters, e.g. {{normalization: none}}")
    sha = item.get("dataset_sha256")
    if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise RegistryError(f"{where}: dataset_sha256 must be 64 lowercase hex digits, got {sha!r}")
    note = item.get("note") or ""
    if not isinstance(note, str):
        raise RegistryError(f"{where}: note must be a string")
    return Reported(
        source=source,
        method=item["method"],
        dataset=item["dataset"],
        metric=metric,
        value=value,
        missing_rate=rate,
        missing_protocol=protocol,
        views=None if views is None else tuple(views),
        params=tuple(sorted(params.items())),
        dataset_sha256=sha,
        std=std,
        runs=runs,
        selection=tuple(selection),
        origin=item["origin"],
        note=note,
    )


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RegistryError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


# -- matching ---------------------------------------------------------------------------------------
@dataclass
class Group:
    """The protocol of one reproduced group of runs (method variant x dataset x condition)."""

    method: str  # the registered name
    dataset: str  # the registered name
    views: tuple[str, ...] | None
    missing_protocol: str
    missing_rate: float
    missing_view: str
    subsample: float
    params: dict[str, str] = field(default_factory=dict)
    variant_sha256: str = ""

    @classmethod
    def of(cls, row: pd.Series) -> Group:
        def param(name: str, default: str) -> str:
            value = row.get(f"{PARAM_PREFIX}{name}")
            return default if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)

        views = param("dataset.views", "")
        prefix = f"{PARAM_PREFIX}method."
        return cls(
            method=param("method", str(row["method"])),
            dataset=param("dataset", str(row["dataset"])),
            views=tuple(views.split(",")) if views else None,
            missing_protocol=param("condition.missing_protocol", PAIRED),
            missing_rate=float(param("condition.missing_rate", "0")),
            missing_view=param("condition.missing_view", "random"),
            subsample=float(param("condition.subsample", "1")),
            params={k.removeprefix(prefix): str(v) for k, v in row.items() if str(k).startswith(prefix)},
            variant_sha256=str(row.get("dataset_variant") or ""),
        )

    def differences(self, entry: Reported, pinned_sha256: str = "") -> list[str]:
        """Why ``entry`` was not obtained under this group's protocol (empty: the same protocol)."""
        out = []
        if entry.views != self.views:
            out.append(f"views {_views(entry.views)} vs {_views(self.views)}")
        if not math.isclose(entry.missing_rate, self.missing_rate, abs_tol=1e-9):
            out.append(f"missing rate {entry.missing_rate:g} vs {self.missing_rate:g}")
        elif self.missing_rate > 0 and entry.missing_protocol != self.missing_protocol:
            out.append(f"missing protocol {entry.missing_protocol} vs {self.missing_protocol}")
        if self.missing_view != "random":
            out.append(f"the cells always remove view {self.missing_view}")
        if self.subsample != 1:
            out.append(f"the cells subsample ({self.subsample:g})")
        for key, value in entry.params:
            if not _same(value, self.params.get(key)):
                out.append(f"{key}={value} vs {self.params.get(key, 'unset')}")
        cell_sha = self.variant_sha256 or pinned_sha256
        if entry.dataset_sha256 and cell_sha and entry.dataset_sha256 != cell_sha:
            out.append(f"dataset file sha256 {entry.dataset_sha256[:12]} vs {cell_sha[:12]}")
        return out


def _views(views: tuple[str, ...] | None) -> str:
    return "all" if views is None else "+".join(views)


def _same(expected: Any, logged: str | None) -> bool:
    if logged is None:
        return False
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            return math.isclose(float(logged), float(expected))
        except ValueError:
            return False
    return str(expected).lower() == logged.lower()


@dataclass
class Comparison:
    """Reproduced figures beside reported ones, and the entries that could not be compared."""

    table: pd.DataFrame  # one row per group x metric with a matching entry
    not_matched: list[tuple[str, str, str]]  # (entry, cells it was held against, why not)
    other_rates: int  # entries of this experiment's methods x datasets at rates or settings it did not run
    unrelated: int  # entries of methods or datasets this experiment did not run


COLUMNS = [
    "dataset",
    "condition",
    "method",
    "metric",
    "reproduced",
    "reported (own)",
    "gap (own)",
    "reported (third party)",
    "gap (third party)",
]


def compare(frame: pd.DataFrame, entries: list[Reported], metrics: list[str]) -> Comparison:
    """Match the reproduced groups of ``frame`` (a runs frame) with the registry ``entries``."""
    from mvbench import registry

    def pinned(dataset: str) -> str:
        try:
            return str(getattr(registry.datasets().get(dataset), "pinned_sha256", ""))
        except Exception:  # noqa: BLE001 - an unregistered or broken dataset has no pinned file
            return ""

    rows: list[dict[str, str]] = []
    groups = []
    if not frame.empty:
        for (condition, dataset, method), part in frame.groupby(["condition", "dataset", "method"], sort=False):
            groups.append((str(condition), str(dataset), str(method), Group.of(part.iloc[0]), part))
    matched: set[int] = set()
    listed: set[int] = set()
    not_matched = []
    for condition, dataset, method, group, part in groups:
        sha = pinned(group.dataset)
        for metric in metrics:
            if metric not in part:
                continue
            related = [
                (i, e, group.differences(e, sha))
                for i, e in enumerate(entries)
                if (e.method, e.dataset, e.metric) == (group.method, group.dataset, metric)
            ]
            hits = [(i, e) for i, e, why in related if not why]
            if not hits:  # figures at this rate under another protocol: say so, never compare
                for i, entry, why in related:
                    if math.isclose(entry.missing_rate, group.missing_rate, abs_tol=1e-9):
                        listed.add(i)
                        not_matched.append(
                            (
                                f"{entry.method} on {entry.dataset}, {entry.metric} {entry.text()} "
                                f"[{entry.source}, {entry.protocol()}]",
                                f"{method} · {dataset} · {condition}",
                                f"not matched (protocol differs: {'; '.join(why)})",
                            )
                        )
                continue
            matched.update(i for i, _ in hits)
            values = part[metric].dropna()
            mean = float(values.mean())
            row = {"dataset": dataset, "condition": condition, "method": method, "metric": metric}
            row["reproduced"] = f"{mean:.3f} ± {float(values.std()) if len(values) > 1 else 0.0:.3f} (n={len(values)})"
            for origin, label in (("own", "own"), ("third_party", "third party")):
                mine = [e for _, e in hits if e.origin == origin]
                row[f"reported ({label})"] = "; ".join(
                    e.text() + ("" if origin == "own" else f" [{e.source}]") for e in mine
                )
                row[f"gap ({label})"] = "; ".join(f"{mean - e.value:+.3f}" for e in mine)
            rows.append(row)
    studied = {(g.method, g.dataset) for *_, g, _ in groups}
    left = [e for i, e in enumerate(entries) if i not in matched | listed and e.metric in metrics]
    unrelated = sum((e.method, e.dataset) not in studied for e in left)
    other_rates = len(left) - unrelated
    return Comparison(pd.DataFrame(rows, columns=COLUMNS), not_matched, other_rates, unrelated)


def render_comparison(comparison: Comparison, fmt: str = "table") -> str:
    """The comparison as text: ``table``, ``markdown``, ``csv`` or ``latex``."""
    table = comparison.table
    lines = []
    if fmt == "csv":
        return table.to_csv(index=False)
    title = "Reported figures beside reproduced ones (same protocol only; gap = reproduced - reported)"
    if fmt == "markdown":
        lines += [f"**{title}**", ""]
        lines.append(markdown_table(table) if not table.empty else "no reproduced cell matches a reported figure")
    elif fmt == "latex":
        lines += [f"% {title}", table.to_latex(index=False) if not table.empty else "% no match"]
    else:
        empty = "no reproduced cell matches a reported figure"
        lines += [title, table.to_string(index=False) if not table.empty else empty]
    if comparison.not_matched:
        lines += ["", "Not compared (a reported figure under another protocol than these cells):"]
        lines += [f"  {entry}\n    vs {cells}: {why}" for entry, cells, why in comparison.not_matched]
    if comparison.other_rates or comparison.unrelated:
        lines.append(
            f"({comparison.other_rates} registry entries of these methods and datasets are at rates or "
            f"settings these cells did not run; "
            f"{comparison.unrelated} concern methods or datasets not in this experiment)"
        )
    return "\n".join(lines)


def markdown_table(table: pd.DataFrame) -> str:
    """A data frame as a markdown table (cells as text, ``|`` escaped)."""
    cells = [[str(v).replace("|", "\\|") for v in row] for row in table.itertuples(index=False)]
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])
