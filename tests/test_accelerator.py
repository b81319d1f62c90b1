"""The ``device`` setting: resolution, GPU requests, the pretraining cache key, and CPU/CUDA agreement.

CUDA agreement (skipped without CUDA): for a fixed seed a torch method starts from the same weights
and batch order on both devices (CPU generators), so the first epoch's recorded facts agree within a
relative 1e-3, and on well-separated clusters the final labels agree (ARI >= 0.95): kernels round
differently, so later epochs may drift, which is the stated tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from conftest import blobs
from sklearn.metrics import adjusted_rand_score

from mvbench.accelerator import DeviceError, resolve_device, wants_gpu
from mvbench.method import ConfigError
from mvbench.methods.autoencoder import PretrainSettings, cache_key
from mvbench.registry import methods

TORCH_METHODS = [
    "dcca_km",
    "vse_km",
    "ccal_km",
    "dxmc",
    "dec",
    "jecl",
    "jecl_no_align",
    "jecl_no_reg",
    "jecl_no_align_reg",
    "jule",
    "mflvc",
    "gcfagg",
    "cvcl",
    "scmvc",
]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@dataclass
class WithDevice:
    device: str


def test_resolve_device_on_this_machine():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        resolve_device("gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA present")
def test_cuda_asked_but_absent_is_a_one_line_error():
    with pytest.raises(DeviceError) as err:
        resolve_device("cuda")
    assert "\n" not in str(err.value) and "no CUDA device" in str(err.value)


def test_wants_gpu():
    assert wants_gpu(WithDevice("cuda"))
    assert not wants_gpu(WithDevice("cpu"))
    assert wants_gpu(WithDevice("auto")) == torch.cuda.is_available()
    assert not wants_gpu(object())  # no device field: a CPU method
    assert not wants_gpu(methods().get("km").Config())


@pytest.mark.parametrize("name", TORCH_METHODS)
def test_every_torch_method_has_a_device_setting(name):
    cls = methods().get(name)
    assert cls.Config().device == "auto"
    assert cls(device="cpu").config.device == "cpu"
    with pytest.raises(ConfigError, match="device"):
        cls(device="gpu")


def test_pretraining_cache_key_is_unchanged_on_cpu_and_differs_on_cuda():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    key = cache_key(x, "image", PretrainSettings(), 7)
    assert cache_key(x, "image", PretrainSettings(), 7, "cpu") == key
    assert cache_key(x, "image", PretrainSettings(), 7, "cuda") != key


@needs_cuda
@pytest.mark.parametrize("name", TORCH_METHODS)
def test_cuda_matches_cpu_within_tolerance(name):
    data = blobs(n=120, k=3, dims=(8, 6), sep=8.0, names=("image", "text"))
    cls = methods().get(name)
    runs = {d: cls(**{**cls.quick_params, "device": d}).fit_predict(data, 3, 5) for d in ("cpu", "cuda")}
    cpu, cuda = runs["cpu"], runs["cuda"]
    if cpu.history:
        for key, value in cpu.history[0].items():
            if key.endswith("_seconds"):  # timings (the MFLVC family's epoch_seconds) differ by design
                continue
            assert cuda.history[0][key] == pytest.approx(value, rel=1e-3, abs=1e-5), key
    assert adjusted_rand_score(cpu.labels, cuda.labels) >= 0.95


def test_wants_gpu_judges_auto_on_the_machines_that_run_the_cell():
    assert wants_gpu(WithDevice("auto"), cuda_present=True) and not wants_gpu(WithDevice("auto"), cuda_present=False)
    assert wants_gpu(WithDevice("cuda"), cuda_present=False) and not wants_gpu(WithDevice("cpu"), cuda_present=True)
