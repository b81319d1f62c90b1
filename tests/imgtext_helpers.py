"""Generated raw files for the image–caption tests: tiny JPEGs in distinct colours."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_jpeg(path: Path, seed: int, size: int = 40) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=3)
    pixels = np.clip(base + rng.integers(-20, 20, size=(size, size + 8, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="JPEG")
    return path
