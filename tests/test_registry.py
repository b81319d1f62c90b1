from importlib.metadata import EntryPoint

import pytest

from mvbench import registry
from mvbench.registry import BrokenPluginError, Registry, UnknownNameError


def test_builtins_are_registered_through_entry_points():
    assert {"km", "km_concat"} <= set(registry.methods().names())
    assert {"digits", "synthetic"} <= set(registry.datasets().names())


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(UnknownNameError, match=r"unknown method 'km_conat' \(did you mean 'km_concat'\?\)"):
        registry.methods().get("km_conat")
    with pytest.raises(UnknownNameError, match="valid choices: .*km_concat"):
        registry.methods().get("zzz")


def test_broken_plugin_is_listed_and_does_not_break_others():
    reg = Registry("mvbench.methods", "method")
    reg._scan()
    ep = EntryPoint("ghost", "mvbench_no_such_module:Thing", "mvbench.methods")
    reg._eps["ghost"] = ep
    reg._infos["ghost"] = registry.PluginInfo("ghost", ep.value, "ghostpkg")
    infos = {i.name: i for i in reg.info()}
    assert infos["ghost"].broken and "No module named 'mvbench_no_such_module'" in infos["ghost"].error
    assert not infos["km"].broken
    with pytest.raises(BrokenPluginError, match="method 'ghost' .* is broken: ModuleNotFoundError"):
        reg.get("ghost")
    assert reg.get("km").__name__ == "KMeansSingleView"
