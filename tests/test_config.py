from dataclasses import dataclass, field
from typing import Literal

import pytest

from mvbench.run.grid import expand_params
from mvbench.config import ConfigError, build_config, describe_config


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
    cfg = build_config(Cfg, {"lam": "0.25", "layers": "[10, 20]", "mode": "b", "view": "none", "epochs": "3",
                             "flag": "true"})
    assert cfg == Cfg(0.25, [10, 20], "b", None, 3, True)


@pytest.mark.parametrize("params, message", [
    ({"lamda": 1}, "did you mean 'lam'"),
    ({"mode": "c"}, "expected one of a, b"),
    ({"epochs": 2.5}, "integer"),
    ({"lam": 2}, "lam must be in"),
    ({"flag": "maybe"}, "true or false"),
])
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
