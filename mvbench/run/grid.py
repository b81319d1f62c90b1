"""Grid specification (CLI options or a YAML config) and its expansion into cells.

A cell is one (method with resolved hyper-parameters, dataset, condition, repetition). Its key is
a hash of all of these plus the dataset's content sha256 and the imputation, so an identical cell
is recognised across invocations (resume) and a changed input is never mistaken for a done one.

YAML config::

    experiment: my_experiment          # optional
    methods:                           # names, or {name: {param: value or [sweep values]}}
      - km_concat
      - km: {view: [pixels, dct]}
      - {name: km, params: {view: dct}, label: "KM (dct)", group: "Single view"}
    datasets:                          # names, or {name: {builder param: value or [sweep]}}
      - digits
      - synthetic: {separation: [2.0, 4.0]}
      - handwritten: {views: [pix, fou]}   # a view subset (names or indices); [[0, 1], [0, 2]] sweeps
    conditions:                        # each entry may be a value or a list (a sweep)
      missing_rate: [0.0, 0.3]
      missing_view: null               # null = a random view per incomplete sample
      missing_protocol: paired         # paired | pairs | per_view (mvbench.data.conditions)
      subsample: null                  # null = all samples
    seeds: 5                           # repetitions: each draws its own masks and subsamples
    only_repetitions: [3, 4]           # optional: run only these of them (same masks and seeds as the full grid)
    model_seeds: 1                     # model seeds per repetition, all on the repetition's mask
    imputation: mean
    cell_timeout: 600                  # optional: seconds a cell may run (stopped and failed beyond)

A list given for a parameter whose type is itself a list (e.g. layer sizes) is one value; a list of
such lists is a sweep.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_origin

import yaml

from mvbench.config import ConfigError, build_config, config_to_dict
from mvbench.data.conditions import Condition, ConditionError, derive_seed
from mvbench.data.imputation import Imputation
from mvbench.method import Method

DEFAULT_CONFIG = Path(__file__).with_name("default.yaml")
#: A dataset setting of the harness, not of the dataset's builder: the views the methods see, by
#: name or index (``- handwritten: {views: [0, 1]}``); a list of lists is a sweep.
VIEWS_SETTING = "views"


class GridError(ValueError):
    """The grid specification is invalid (one-line message)."""


@dataclass(frozen=True)
class Cell:
    """One unit of work of a grid."""

    method: str
    method_label: str
    method_params: tuple[tuple[str, Any], ...]
    dataset: str
    dataset_label: str
    dataset_params: tuple[tuple[str, Any], ...]
    dataset_sha256: str
    condition: Condition
    repetition: int
    imputation: Imputation
    method_code: str = ""  # the method's code identity (mvbench.run.code_identity)
    group: str = ""  # the report's row group (e.g. "Multi-view clustering"); not part of the key
    #: Which of ``model_seeds`` model seeds run on the repetition's mask (0: the only one by default).
    model_seed: int = 0
    #: The raw file's sha256 when the dataset was prepared from an unpinned variant (--allow-variant);
    #: the content sha256 already keys the cell, this makes the variant visible in its record.
    dataset_variant: str = ""

    @property
    def views(self) -> list[str] | None:
        """The view subset the methods see (names, in order), or None for all views."""
        views = dict(self.dataset_params).get(VIEWS_SETTING)
        return None if views is None else views.split(",")

    @property
    def seed(self) -> int:
        """The method's seed: the (dataset, condition, repetition) stream plus the method (and the
        model seed beyond the first, so model seeds vary the method and never the mask)."""
        extra = (self.model_seed,) if self.model_seed else ()
        return derive_seed(self.dataset_label, self.condition.key(), self.repetition, self.method, *extra)

    @property
    def data_seed(self) -> int:
        """The method-independent part: the same for every method of a (dataset, condition, repetition)."""
        return derive_seed(self.dataset_label, self.condition.key(), self.repetition)

    @property
    def key(self) -> str:
        blob = json.dumps(
            {
                "method": self.method,
                "code": self.method_code,
                "params": list(self.method_params),
                "dataset": self.dataset,
                "dataset_params": list(self.dataset_params),
                "sha256": self.dataset_sha256,
                "condition": self.condition.key(),
                "repetition": self.repetition,
                "imputation": self.imputation,
                # left out at 0, so cells logged before model seeds existed keep their keys
                **({"model_seed": self.model_seed} if self.model_seed else {}),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def run_name(self) -> str:
        """method · dataset · condition · repetition: the MLflow runs table reads without its params."""
        seed = f" · model seed {self.model_seed}" if self.model_seed else ""
        return f"{self.method_label} · {self.dataset_label} · {self.condition.label()} · rep {self.repetition}{seed}"

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "method": self.method_label,
            "dataset": self.dataset_label,
            "condition": self.condition.label(),
            "repetition": self.repetition,
            "model_seed": self.model_seed,
        }


@dataclass
class Entry:
    """A method or dataset of the grid with its (possibly swept) parameters.

    ``label`` replaces the name in reports (swept parameters are appended); ``group`` names the
    block of rows a method belongs to in paper-style tables.
    """

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    group: str = ""

    def variant_label(self, params: dict[str, Any], swept: set[str]) -> str:
        """How one expanded variant is called in reports."""
        if self.label:
            return label(self.label, {k: v for k, v in params.items() if k in swept})
        return label(self.name, params)


@dataclass
class GridSpec:
    methods: list[Entry]
    datasets: list[Entry]
    missing_rates: list[float] = field(default_factory=lambda: [0.0])
    missing_views: list[str | None] = field(default_factory=lambda: [None])
    subsamples: list[float | None] = field(default_factory=lambda: [None])
    repetitions: int = 5  # the YAML key and CLI flag say "seeds": each repetition derives its own seeds
    imputation: Imputation = "mean"
    experiment: str = "mvbench"
    missing_protocols: list[str] = field(default_factory=lambda: ["paired"])
    model_seeds: int = 1  # model seeds per repetition (each repetition's mask is shared by them)
    only_repetitions: list[int] | None = None  # run only these repetitions (0-based); None: all of them

    def repetition_indices(self) -> list[int]:
        """The repetitions this grid runs: ``only_repetitions``, else all ``repetitions`` of them. A
        repetition's masks and seeds depend on its index alone, so a grid split this way (over machines
        or stores) runs the same cells as the whole."""
        return list(self.only_repetitions) if self.only_repetitions is not None else list(range(self.repetitions))

    def conditions(self) -> list[Condition]:
        out = []
        for sub, protocol, view, rate in itertools.product(
            self.subsamples, self.missing_protocols, self.missing_views, self.missing_rates
        ):
            try:
                # complete data is one condition whatever the protocol
                out.append(Condition(float(rate), None if rate == 0 else view, sub, protocol if rate else "paired"))
            except ConditionError as exc:
                raise GridError(str(exc)) from None
        return list(dict.fromkeys(out))


def parse_entries(items: Any, what: str) -> list[Entry]:
    """Entries from a YAML list (names, {name: params}, or {name:, params:})."""
    if isinstance(items, str):
        items = [s for s in (p.strip() for p in items.split(",")) if s]
    if not isinstance(items, list) or not items:
        raise GridError(f"'{what}' must be a non-empty list of names")
    entries = []
    for item in items:
        if isinstance(item, str):
            entries.append(Entry(item))
        elif isinstance(item, dict) and "name" in item:
            unknown = set(item) - {"name", "params", "label", "group"}
            if unknown:
                raise GridError(
                    f"{what} entry {item['name']!r}: unknown key(s) {', '.join(sorted(unknown))}; "
                    f"valid: name, params, label, group"
                )
            entries.append(
                Entry(
                    str(item["name"]),
                    dict(item.get("params") or {}),
                    str(item.get("label") or ""),
                    str(item.get("group") or ""),
                )
            )
        elif isinstance(item, dict) and len(item) == 1:
            ((name, params),) = item.items()
            entries.append(Entry(str(name), dict(params or {})))
        else:
            raise GridError(f"cannot read {what} entry {item!r}: give a name or {{name: {{param: value}}}}")
    return entries


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML grid config (one-line errors for unreadable files)."""
    path = Path(path)
    if not path.exists():
        raise GridError(f"config file {path} does not exist")
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise GridError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise GridError(f"config file {path} must hold a mapping (methods:, datasets:, ...)")
    known = {
        "experiment",
        "methods",
        "datasets",
        "conditions",
        "seeds",
        "model_seeds",
        "only_repetitions",
        "imputation",
        "workers",
        "executor",
        "ray_address",
        "cell_timeout",
    }
    unknown = set(config) - known
    if unknown:
        raise GridError(
            f"config file {path}: unknown key(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(known))}"
        )
    return config


def spec_from_config(config: dict[str, Any]) -> GridSpec:
    conditions = config.get("conditions") or {}
    valid = ("missing_rate", "missing_view", "missing_protocol", "subsample")
    unknown = set(conditions) - set(valid)
    if unknown:
        raise GridError(f"unknown condition(s) {', '.join(sorted(unknown))}; valid: {', '.join(valid)}")
    protocols = [str(p) for p in as_list(conditions.get("missing_protocol") or "paired")]
    views = [None if v in (None, "random") else str(v) for v in as_list(conditions.get("missing_view"))]
    subsamples = [None if s in (None, 1, 1.0) else s for s in as_list(conditions.get("subsample"))]
    rates = as_list(conditions.get("missing_rate", 0.0))
    for name, values in (("missing_rate", rates), ("subsample", subsamples)):
        try:
            values[:] = [v if v is None else float(v) for v in values]
        except (TypeError, ValueError):
            raise GridError(
                f"conditions: {name} must be a number or a list of numbers, got {conditions.get(name)!r}"
            ) from None
    repetitions = config.get("seeds", 5)
    if not isinstance(repetitions, int) or repetitions < 1:
        raise GridError(f"seeds (repetitions) must be a positive integer, got {repetitions!r}")
    model_seeds = config.get("model_seeds", 1)
    if not isinstance(model_seeds, int) or isinstance(model_seeds, bool) or model_seeds < 1:
        raise GridError(f"model_seeds must be a positive integer, got {model_seeds!r}")
    only = config.get("only_repetitions")
    if only is not None:
        only = as_list(only)
        if not only or not all(isinstance(r, int) and not isinstance(r, bool) and 0 <= r < repetitions for r in only):
            raise GridError(
                f"only_repetitions must name repetitions of the grid, 0 to {repetitions - 1} (seeds: {repetitions}); "
                f"got {config.get('only_repetitions')!r}"
            )
        only = sorted(set(only))
    imputation = config.get("imputation", "mean")
    if imputation not in ("mean", "zero"):
        raise GridError(f"unknown imputation {imputation!r}: use mean or zero")
    return GridSpec(
        methods=parse_entries(config.get("methods"), "methods"),
        datasets=parse_entries(config.get("datasets"), "datasets"),
        missing_rates=rates,
        missing_views=views,
        subsamples=subsamples,
        repetitions=repetitions,
        imputation=imputation,
        experiment=str(config.get("experiment", "mvbench")),
        missing_protocols=protocols,
        model_seeds=model_seeds,
        only_repetitions=only,
    )


def swept_keys(config_cls: type, params: dict[str, Any]) -> set[str]:
    """The parameters whose value is a list of settings to sweep (see module doc)."""
    hints = typing.get_type_hints(config_cls) if dataclasses.is_dataclass(config_cls) else {}
    swept = set()
    for key, value in params.items():
        hint = hints.get(key)
        list_typed = hint is not None and (
            get_origin(hint) in (list, tuple) or any(get_origin(a) in (list, tuple) for a in typing.get_args(hint))
        )
        if isinstance(value, list) and (not list_typed or (value and isinstance(value[0], list))):
            swept.add(key)
    return swept


def split_views(params: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any] | None]]:
    """A dataset entry's builder params and its view subsets (``[None]``: all views)."""
    params = dict(params)
    views = params.pop(VIEWS_SETTING, None)
    if views is None:
        return params, [None]
    if not isinstance(views, list) or not views:
        raise GridError(f"{VIEWS_SETTING}: give a list of view names or indices, e.g. [0, 1], got {views!r}")
    return params, [list(v) for v in views] if isinstance(views[0], list) else [views]


def expand_params(config_cls: type, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The cartesian product of swept parameters."""
    swept = swept_keys(config_cls, params)
    axes = [[(k, x) for x in v] if k in swept else [(k, v)] for k, v in params.items()]
    return [dict(combo) for combo in itertools.product(*axes)] if axes else [{}]


def label(name: str, params: dict[str, Any]) -> str:
    if not params:
        return name
    return name + "(" + ", ".join(f"{k}={_short(v)}" for k, v in params.items()) + ")"


def _short(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def resolve_method(entry_name: str, params: dict[str, Any], method_cls: type[Method]) -> tuple[tuple[str, Any], ...]:
    """All hyper-parameters (defaults filled in) of one method variant, validated."""
    config = build_config(method_cls.Config, params, owner=entry_name)
    return tuple(sorted(config_to_dict(config).items()))


def freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    return value


__all__ = [
    "Cell",
    "Entry",
    "GridSpec",
    "GridError",
    "ConfigError",
    "load_config",
    "spec_from_config",
    "expand_params",
    "split_views",
    "VIEWS_SETTING",
    "swept_keys",
    "label",
    "resolve_method",
    "DEFAULT_CONFIG",
]
