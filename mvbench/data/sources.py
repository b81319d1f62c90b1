"""The dataset plugin interface and the local catalogue of prepared dataset files.

A dataset plugin is a :class:`DatasetSource` subclass registered in the ``mvbench.datasets``
entry-point group. It builds a :class:`~mvbench.data.model.MultiViewDataset` from its raw source; the
catalogue writes it once to ``<data dir>/<name>.h5`` and later runs read that file.

Where files live is one :class:`DataPaths`, resolved once at the edge (the CLI, a script) and passed
down explicitly: the data directory is ``--data-dir``, else ``$MVBENCH_DATA_DIR``, else
``$XDG_DATA_HOME/mvbench`` (``~/.local/share/mvbench``). Raw sources are looked for under
``--raw``, else under ``$MVBENCH_RAW_DIR`` (a folder laid out like the project's shared data:
``mat/``, ``pascal_sentences/``, ``web_news/``, ...), else under ``<data dir>/raw``. Methods may cache
shared work (pretrained autoencoders) under ``$MVBENCH_CACHE_DIR``, else ``<data dir>/cache``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from mvbench import registry
from mvbench.config import NoConfig, build_config, config_to_dict
from mvbench.data import store
from mvbench.data.model import DatasetCard, DataValidationError, MultiViewDataset
from mvbench.places import check_folder


@dataclass(frozen=True)
class DataPaths:
    """The folders of one invocation: prepared datasets, raw sources, and caches."""

    data_dir: Path
    raw_dir: Path
    cache_dir: Path

    @classmethod
    def resolve(cls, data_dir: str | os.PathLike | None = None) -> DataPaths:
        """``data_dir``, else ``$MVBENCH_DATA_DIR``, else ``$XDG_DATA_HOME/mvbench``; raw sources under
        ``$MVBENCH_RAW_DIR``, else ``<data dir>/raw``; caches under ``$MVBENCH_CACHE_DIR``, else
        ``<data dir>/cache``. The environment is read here only."""
        env = os.environ
        if data_dir:
            root = Path(data_dir).expanduser().resolve()
        elif env.get("MVBENCH_DATA_DIR"):
            root = Path(env["MVBENCH_DATA_DIR"]).expanduser()
        else:
            root = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "mvbench"
        raw = Path(env["MVBENCH_RAW_DIR"]).expanduser() if env.get("MVBENCH_RAW_DIR") else root / "raw"
        cache = Path(env["MVBENCH_CACHE_DIR"]).expanduser() if env.get("MVBENCH_CACHE_DIR") else root / "cache"
        return cls(root, raw, cache)

    def raw_folder(self, name: str) -> Path:
        """``<raw dir>/name`` when it exists (a local copy), else ``<data dir>/raw/name`` (downloads go there)."""
        local = self.raw_dir / name
        return local if local.exists() else self.data_dir / "raw" / name

    def prepared_path(self, name: str, params: dict[str, Any] | None = None) -> Path:
        """The prepared file of dataset ``name`` built with ``params``."""
        key = params_key(params or {})
        return self.data_dir / (f"{name}-{key}.h5" if key else f"{name}.h5")


class DatasetNameError(ValueError):
    """A dataset name is not usable for a new dataset (one-line message)."""


class DatasetUnavailableError(RuntimeError):
    """The dataset is not prepared and its raw source is not at hand (message says how to get it)."""


#: The card key of a dataset built from an unpinned variant of its raw file: that file's sha256.
VARIANT_KEY = "variant_sha256"


def check_variant(name: str, card: DatasetCard, allow_variant: bool) -> str:
    """The raw sha256 of a prepared dataset built from a variant file ('' for the pinned file); a
    variant is refused in one line unless ``allow_variant``."""
    variant = str(card.extra.get(VARIANT_KEY, ""))
    if variant and not allow_variant:
        raise DataValidationError(
            f"dataset {name!r} was prepared from a variant file (sha256 {variant}), not the pinned "
            f"{card.extra.get('pinned_sha256', '?')}: pass --allow-variant to run it as that variant, or "
            f"`mvbench datasets prepare {name} --force` from the pinned file"
        )
    return variant


class DatasetSource(ABC):
    """A named dataset that knows how to build itself from its raw source.

    Subclasses set ``description``, ``n_clusters`` (if known) and, when building takes options,
    ``Config`` (a dataclass, see :mod:`mvbench.config`); they implement :meth:`build`. Sources that
    need files override :meth:`default_raw` (using ``self.paths``), :meth:`raw_available` and
    :meth:`raw_hint`. The catalogue creates a source with its registered ``name`` and the ``paths``
    of the invocation.
    """

    description: str = ""
    n_clusters: int | None = None
    Config: ClassVar[type] = NoConfig
    #: The sha256 of the one raw file this dataset is built from, when it is pinned ('' otherwise).
    pinned_sha256: ClassVar[str] = ""

    def __init__(self, name: str, paths: DataPaths, allow_variant: bool = False) -> None:
        self.name = name
        self.paths = paths
        #: Build from a raw file whose sha256 differs from ``pinned_sha256`` (recorded on the card
        #: as ``extra["variant_sha256"]``) instead of refusing it.
        self.allow_variant = allow_variant

    def default_raw(self) -> Path | None:
        """Where the raw source is looked for when no ``--raw`` is given."""
        return None

    def raw_available(self, raw: Path | None) -> bool:
        return True

    def raw_hint(self) -> str:
        """One sentence: what is missing and how to get it."""
        return ""

    @abstractmethod
    def build(self, raw: Path | None, params: Any) -> MultiViewDataset:
        """Build the dataset in memory (the catalogue validates and stores it)."""


class ImportedDataset(DatasetSource):
    """A dataset imported from the user's own file (``mvbench datasets import``): its prepared
    file in the data directory is its only source."""

    def __init__(self, name: str, paths: DataPaths, card: DatasetCard) -> None:
        super().__init__(name, paths)
        self.card = card
        origin = card.extra.get("imported", {})
        self.description = f"imported from {origin.get('file', '?')} (sha256 {origin.get('sha256', '?')[:16]})"
        self.n_clusters = card.extra.get("n_classes")

    def raw_available(self, raw: Path | None) -> bool:
        return False

    def raw_hint(self) -> str:
        return f"its file {self.paths.prepared_path(self.name)} is gone: import the .mat file again"

    def build(self, raw: Path | None, params: Any) -> MultiViewDataset:
        raise DatasetUnavailableError(f"dataset {self.name!r}: {self.raw_hint()}")


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_new_name(name: str) -> None:
    """Refuse a name for an imported dataset that is not a plain file name or is registered."""
    if not NAME_PATTERN.fullmatch(name) or name.endswith(".h5"):
        raise DatasetNameError(
            f"dataset name {name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]* (no path, "
            f"no .h5 suffix): choose e.g. {re.sub(r'[^A-Za-z0-9_.-]', '_', name).strip('_.-') or 'my_set'}"
        )
    if name in registry.datasets().names():
        raise DatasetNameError(f"{name!r} is a registered dataset: choose another --name for the import")


def imported_datasets(paths: DataPaths) -> dict[str, ImportedDataset]:
    """The imported datasets of the data directory, by name."""
    out = {}
    folder = paths.data_dir
    for path in sorted(folder.glob("*.h5")) if folder.is_dir() else []:
        try:
            card = store.read_card(path)
        except (OSError, ValueError, KeyError):
            continue
        if "imported" in card.extra and path.stem == card.name:
            out[card.name] = ImportedDataset(card.name, paths, card)
    return out


def get_source(name: str, paths: DataPaths) -> DatasetSource:
    """The registered source ``name``, else the imported dataset ``name`` of the data directory
    (raises UnknownNameError / BrokenPluginError)."""
    datasets = registry.datasets()
    if name not in datasets.names():
        imported = imported_datasets(paths)
        if name in imported:
            return imported[name]
        raise registry.UnknownNameError(
            registry.unknown_name_message("dataset", name, datasets.names() + list(imported))
        )
    return datasets.get(name)(name, paths)


def params_key(params: dict[str, Any]) -> str:
    """Short stable hash of non-default builder params ('' when there are none)."""
    if not params:
        return ""
    blob = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def prepare(
    name: str,
    paths: DataPaths,
    params: dict[str, Any] | None = None,
    raw: str | os.PathLike | None = None,
    force: bool = False,
    allow_variant: bool = False,
) -> Path:
    """Build ``name`` from its raw source and store it; returns the file (kept if already there).
    ``allow_variant``: build from a raw file whose sha256 differs from the pinned one (recorded)."""
    source = get_source(name, paths)
    source.allow_variant = allow_variant
    params = params or {}
    config = build_config(source.Config, params, owner=f"dataset {name}")
    path = paths.prepared_path(name, params)
    if path.exists() and not force:
        return path
    raw_path = Path(raw).expanduser() if raw else source.default_raw()
    if not source.raw_available(raw_path):
        hint = source.raw_hint() or f"mvbench datasets prepare {name} --raw DIR"
        raise DatasetUnavailableError(f"dataset {name!r} is not prepared and its raw source is missing: {hint}")
    check_folder(
        paths.data_dir, "the data dir", f"{name!r} must be prepared there: pass --data-dir DIR or set MVBENCH_DATA_DIR"
    )
    data = source.build(raw_path, config)
    data.card.name = name
    if params:
        data.card.extra = {**data.card.extra, "build_params": config_to_dict(config)}
    store.save(data, path)
    return path
