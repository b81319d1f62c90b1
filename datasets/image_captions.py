"""``image_captions``: your own image–caption collection.

``--raw DIR`` names a folder holding a captions file (``captions.json`` or ``captions.csv``, see
:func:`mvbench.features.builder.read_captions`) and the images, anywhere below it, matched to caption
entries by file name or stem. Images without captions and captions without images are kept with the
other view missing. Give each collection its own ``--param collection=NAME`` (it is part of the
prepared file's key) or its own ``--data-dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.download import sha256_file
from mvbench.data.sources import DatasetSource
from mvbench.features.builder import ImageTextParams, build_image_text, records_from_folder

CAPTION_FILES = ("captions.json", "captions.csv")


@dataclass
class ImageCaptionsParams(ImageTextParams):
    collection: str = ""
    """A name for the collection (recorded in the card; distinguishes prepared files)."""


class ImageCaptions(DatasetSource):
    description = "a folder of images + captions.json/.csv (--raw DIR): image and text views"
    Config = ImageCaptionsParams

    def raw_available(self, raw: Path | None) -> bool:
        return raw is not None and any((raw / n).exists() for n in CAPTION_FILES)

    def raw_hint(self) -> str:
        return (
            f"run mvbench datasets prepare {self.name} --raw DIR, a folder holding captions.json or captions.csv "
            f"and the images"
        )

    def build(self, raw: Path | None, params: ImageCaptionsParams) -> MultiViewDataset:
        raw = Path(raw)
        captions = next(raw / n for n in CAPTION_FILES if (raw / n).exists())
        card = DatasetCard(
            name=params.collection or "image_captions",
            source=f"{raw.resolve().name}/{captions.name} (sha256 {sha256_file(captions)})",
            description=f"image–caption collection built from {captions.name} and the images under "
            f"{raw.resolve().name}/",
        )
        return build_image_text(
            records_from_folder(raw, captions), card, params.choice(), self.paths.data_dir / "features"
        )
