"""The config engine: typed settings for methods, datasets and grids.

A config is a dataclass. Its fields are typed and have defaults; values given as strings (CLI) or
YAML values are coerced to the field's type by :func:`build_config`. Value ranges are declared, not
hand-checked, in the spirit of scikit-learn's ``_parameter_constraints``::

    @dataclass
    class MyConfig:
        epochs: int = 20
        lr: float = 1e-3
        hidden: list[int] = field(default_factory=lambda: [500, 500])
        constraints: ClassVar[Constraints] = {"epochs": AT_LEAST_ONE, "lr": POSITIVE, "hidden": AT_LEAST_ONE}

A constraint on a list field applies to each item. Constraints are inherited (a subclass adds to or
overrides its bases'). Every bad value raises :class:`ConfigError` naming the parameter, its range and
the value. Checks that relate several fields stay in the dataclass's ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Protocol, get_args, get_origin


class ConfigError(ValueError):
    """A setting's name or value is invalid (one-line message)."""


@dataclass
class NoConfig:
    """The config of a plugin without settings."""


class Constraint(Protocol):
    def check(self, name: str, value: Any) -> None:
        """Raise :class:`ConfigError` naming ``name`` when ``value`` is not allowed."""

    def describe(self) -> str:
        """The allowed values, e.g. ``>= 1`` or ``in [0, 1)``."""


Constraints = dict[str, Constraint]


@dataclass(frozen=True)
class Interval:
    """Numbers between ``low`` and ``high`` (None: unbounded); ``closed`` says which ends are allowed.

    ``Interval(1)`` is ``>= 1``; ``Interval(0, closed="neither")`` is ``> 0``; ``Interval(0, 1, "left")``
    is ``[0, 1)``. ``None`` values pass (a field typed ``X | None`` uses None for "off").
    """

    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def _inside(self, value: float) -> bool:
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right") else value < self.high)
        return low_ok and high_ok

    def describe(self) -> str:
        lo_in, hi_in = self.closed in ("both", "left"), self.closed in ("both", "right")
        if self.high is None:
            return f"{'>=' if lo_in else '>'} {self.low:g}" if self.low is not None else "any number"
        if self.low is None:
            return f"{'<=' if hi_in else '<'} {self.high:g}"
        return f"in {'[' if lo_in else '('}{self.low:g}, {self.high:g}{']' if hi_in else ')'}"

    def check(self, name: str, value: Any) -> None:
        if value is None:
            return
        items = value if isinstance(value, (list, tuple)) else [value]
        bad = [v for v in items if not self._inside(v)]
        if bad:
            each = "each item of " if isinstance(value, (list, tuple)) else ""
            raise ConfigError(f"{each}{name} must be {self.describe()}, got {bad[0]!r}")


@dataclass(frozen=True)
class Length:
    """A list with between ``low`` and ``high`` items (``high`` None: no upper bound)."""

    low: int = 1
    high: int | None = None

    def describe(self) -> str:
        if self.high == self.low:
            return f"{self.low} item{'s' if self.low != 1 else ''}"
        return f"at least {self.low} items" if self.high is None else f"{self.low} to {self.high} items"

    def check(self, name: str, value: Any) -> None:
        n = len(value)
        if n < self.low or (self.high is not None and n > self.high):
            raise ConfigError(f"{name} must have {self.describe()}, got {n}")


@dataclass(frozen=True)
class All:
    """Every one of several constraints (e.g. a length and a range for the items of a list)."""

    parts: tuple[Constraint, ...]

    def describe(self) -> str:
        return " and ".join(p.describe() for p in self.parts)

    def check(self, name: str, value: Any) -> None:
        for part in self.parts:
            part.check(name, value)


#: The common ranges.
POSITIVE = Interval(0, closed="neither")
NON_NEGATIVE = Interval(0)
AT_LEAST_ONE = Interval(1)


def constraints_of(config_cls: type) -> Constraints:
    """The constraints declared by ``config_cls`` and its bases (the subclass wins)."""
    merged: Constraints = {}
    for klass in reversed(config_cls.__mro__):
        merged.update(vars(klass).get("constraints", {}))
    return merged


def check_config(config: Any, owner: str = "") -> None:
    """Raise :class:`ConfigError` (naming the parameter) when a value breaks its declared constraint."""
    for name, constraint in constraints_of(type(config)).items():
        try:
            constraint.check(name, getattr(config, name))
        except ConfigError as exc:
            raise ConfigError(f"{owner}: {exc}" if owner else str(exc)) from None


def config_to_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config)


def build_config(config_cls: type, params: dict[str, Any], owner: str = "") -> Any:
    """Build ``config_cls`` from ``params`` (strings are parsed to the field's type) and check it.

    Unknown names, ill-typed and out-of-range values raise :class:`ConfigError` naming the parameter.
    """
    hints = typing.get_type_hints(config_cls)
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    prefix = f"{owner}: " if owner else ""
    values = {}
    for key, raw in params.items():
        if key not in fields:
            valid = ", ".join(fields) or "(none)"
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{prefix}unknown hyper-parameter {key!r}{hint}; valid: {valid}")
        try:
            values[key] = coerce(raw, hints[key])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{prefix}bad value {raw!r} for {key}: {exc}") from None
    try:
        config = config_cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix}{exc}") from None
    check_config(config, owner)
    return config


def coerce(value: Any, hint: Any) -> Any:
    """Convert ``value`` (often a string from the CLI) to the type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or "no matching type")
    if origin is Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"expected one of {', '.join(map(str, args))}")
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.strip("[]()").split(",") if v.strip()]
        inner = args[0] if args else str
        items = [coerce(v.strip() if isinstance(v, str) else v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if hint is int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("expected an integer")
        return int(value)
    if hint is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    if hint is str:
        return str(value)
    return value


def describe_config(config_cls: type) -> list[tuple[str, str, str]]:
    """(name, type and allowed range, default) rows for listing a plugin's settings."""
    hints = typing.get_type_hints(config_cls)
    constraints = constraints_of(config_cls)
    rows = []
    for f in dataclasses.fields(config_cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "required"
        type_name = getattr(hints[f.name], "__name__", None) or str(hints[f.name]).replace("typing.", "")
        if f.name in constraints:
            type_name = f"{type_name} ({constraints[f.name].describe()})"
        rows.append((f.name, type_name, repr(default)))
    return rows


__all__ = [
    "AT_LEAST_ONE",
    "All",
    "ConfigError",
    "Constraint",
    "Constraints",
    "Interval",
    "Length",
    "NON_NEGATIVE",
    "NoConfig",
    "POSITIVE",
    "build_config",
    "check_config",
    "coerce",
    "config_to_dict",
    "constraints_of",
    "describe_config",
]
