"""Where a torch method computes: the ``device`` setting (``auto`` | ``cpu`` | ``cuda``) resolved.

``auto`` is CUDA when torch sees a CUDA device, else the CPU; ``cuda`` without one is a one-line
error. torch is imported only when a setting is resolved, so importing this module (the executor
does, to ask for GPUs) loads nothing heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

Device = Literal["auto", "cpu", "cuda"]
DEVICES = ("auto", "cpu", "cuda")


class DeviceError(ValueError):
    """A ``device`` setting that cannot be honoured here (one-line message)."""


def cuda_available() -> bool:
    """True when torch is installed and sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(setting: str) -> torch.device:
    """The torch device for ``setting``: ``cpu``, ``cuda`` (CUDA must be present) or ``auto``."""
    import torch

    if setting not in DEVICES:
        raise DeviceError(f"unknown device {setting!r}: use auto, cpu or cuda")
    if setting == "cpu" or (setting == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceError("device='cuda' but torch sees no CUDA device here; use device=auto or cpu")
    return torch.device("cuda")


def wants_gpu(config: Any, cuda_present: bool | None = None) -> bool:
    """True when ``config`` has a ``device`` field set to ``cuda``, or to ``auto`` where CUDA is present
    (what an executor reads to reserve a GPU for a cell). ``cuda_present``: whether the machines that
    will run the cell have CUDA (a Ray cluster's GPUs); by default, whether this process sees it."""
    setting = getattr(config, "device", None)
    if setting != "auto":
        return setting == "cuda"
    return cuda_available() if cuda_present is None else cuda_present
