from dataclasses import dataclass, field
from typing import ClassVar, Literal

import pytest

from mvbench.config import (
    AT_LEAST_ONE,
    NON_NEGATIVE,
    POSITIVE,
    All,
    ConfigError,
    Constraints,
    Interval,
    Length,
    build_config,
    constraints_of,
    describe_config,
)
from mvbench.method import Method
from mvbench.run.grid import expand_params


@dataclass
class Cfg:
    lam: float = 0.5
    layers: list[int] = field(default_factory=lambda: [500, 500])
    mode: Literal["a", "b"] = "a"
    view: str | None = None
    epochs: int = 10
    flag: bool = False

    def __post_init__(self):
        if not 0 <= self.lam <= 1:
            raise ValueError("lam must be in [0, 1]")


def test_strings_are_parsed_to_field_types():
    cfg = build_config(
        Cfg, {"lam": "0.25", "layers": "[10, 20]", "mode": "b", "view": "none", "epochs": "3", "flag": "true"}
    )
    assert cfg == Cfg(0.25, [10, 20], "b", None, 3, True)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lamda": 1}, "did you mean 'lam'"),
        ({"mode": "c"}, "expected one of a, b"),
        ({"epochs": 2.5}, "integer"),
        ({"lam": 2}, "lam must be in"),
        ({"flag": "maybe"}, "true or false"),
    ],
)
def test_bad_values_give_one_line_errors(params, message):
    with pytest.raises(ConfigError, match=message) as info:
        build_config(Cfg, params, owner="m")
    assert "\n" not in str(info.value)


def test_sweeps_expand_but_list_typed_values_do_not():
    combos = expand_params(Cfg, {"lam": [0.25, 0.5], "layers": [10, 20]})
    assert combos == [{"lam": 0.25, "layers": [10, 20]}, {"lam": 0.5, "layers": [10, 20]}]
    assert len(expand_params(Cfg, {"layers": [[1], [2], [3]]})) == 3
    assert expand_params(Cfg, {}) == [{}]


def test_describe_lists_every_field():
    names = [row[0] for row in describe_config(Cfg)]
    assert names == ["lam", "layers", "mode", "view", "epochs", "flag"]


@dataclass
class Constrained:
    lr: float = 0.1
    epochs: int = 10
    layers: list[int] = field(default_factory=lambda: [8, 4])
    weights: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.0])
    keep: float | None = None
    constraints: ClassVar[Constraints] = {
        "lr": POSITIVE,
        "epochs": AT_LEAST_ONE,
        "layers": AT_LEAST_ONE,
        "weights": All((Length(3, 3), NON_NEGATIVE)),
        "keep": Interval(0, 1, "right"),
    }


@dataclass
class Narrower(Constrained):
    constraints: ClassVar[Constraints] = {"epochs": Interval(2, 5)}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"lr": 0}, "m: lr must be > 0, got 0.0"),
        ({"epochs": 0}, "m: epochs must be >= 1, got 0"),
        ({"layers": [8, 0]}, "m: each item of layers must be >= 1, got 0"),
        ({"weights": [1, 1]}, "m: weights must have 3 items, got 2"),
        ({"weights": [1, -1, 0]}, "m: each item of weights must be >= 0, got -1.0"),
        ({"keep": 0}, r"m: keep must be in \(0, 1\], got 0.0"),
    ],
)
def test_each_bad_value_names_its_parameter_and_range(params, message):
    with pytest.raises(ConfigError, match=f"^{message}$"):
        build_config(Constrained, params, owner="m")


def test_constraints_are_inherited_and_none_means_off():
    assert build_config(Constrained, {"keep": None, "lr": "1e-3"}).lr == 1e-3
    assert constraints_of(Narrower)["lr"] == POSITIVE
    with pytest.raises(ConfigError, match=r"epochs must be in \[2, 5\], got 10"):
        build_config(Narrower, {})
    assert dict((n, t) for n, t, _ in describe_config(Constrained))["lr"] == "float (> 0)"


def test_a_method_checks_a_config_built_directly():
    class Toy(Method):
        Config = Constrained

        def fit_predict(self, data, n_clusters, seed):
            raise NotImplementedError

    with pytest.raises(ConfigError, match="lr must be > 0"):
        Toy(Constrained(lr=-1.0))
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        Toy(epochs=0)
