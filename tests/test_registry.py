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


def fake_registry(monkeypatch, extra):
    real = registry.entry_points

    def entry_points(group):
        return [*real(group=group), *extra]

    monkeypatch.setattr(registry, "entry_points", entry_points)
    return Registry(registry.METHODS_GROUP, "method", "mvbench.method:Method")


def test_broken_plugin_is_listed_and_does_not_break_others(monkeypatch):
    reg = fake_registry(monkeypatch, [EntryPoint("ghost", "mvbench_no_such_module:Thing", registry.METHODS_GROUP)])
    infos = {i.name: i for i in reg.info()}
    assert infos["ghost"].broken and "No module named 'mvbench_no_such_module'" in infos["ghost"].error
    assert not infos["km"].broken
    with pytest.raises(BrokenPluginError, match="method 'ghost' .* is broken: ModuleNotFoundError"):
        reg.get("ghost")
    assert reg.get("km").__name__ == "KMeansSingleView"


def test_a_name_registered_twice_is_refused_not_silently_replaced(monkeypatch):
    reg = fake_registry(monkeypatch, [EntryPoint("km", "mvbench.methods.kmeans:KMeansConcat", registry.METHODS_GROUP)])
    with pytest.raises(
        BrokenPluginError, match="method 'km' .* registered twice, by .*KMeansSingleView.* uninstall one"
    ):
        reg.get("km")
    assert reg.get("km_concat").__name__ == "KMeansConcat"
    with pytest.raises(ValueError, match="'km_concat' is already registered"):
        reg.register("km_concat", reg.get("km_concat").__mro__[1])


def test_a_plugin_that_is_not_a_method_is_broken(monkeypatch):
    reg = fake_registry(monkeypatch, [EntryPoint("notamethod", "mvbench.config:Interval", registry.METHODS_GROUP)])
    with pytest.raises(BrokenPluginError, match="is not a subclass of mvbench.method.Method"):
        reg.get("notamethod")
    with pytest.raises(TypeError, match="not a subclass"):
        reg.register("other", dict)


def test_get_leaves_the_plugin_and_the_registry_unchanged():
    reg = Registry(registry.METHODS_GROUP, "method", "mvbench.method:Method")
    before = reg.names()
    cls = reg.get("km_concat")
    assert "name" not in vars(cls) and reg.names() == before
    assert not {info.name: info for info in reg.info()}["km_concat"].broken
