"""The image–caption builder: records of (id, image, captions, label) -> a two-view dataset.

View ``image``: an image encoder over the images; view ``text``: a text encoder over one document
per record, made by joining all of the record's captions with a space (the JECL paper's word counts
imply one document per image). A record without an image (or whose image fails to decode) has its
image view missing; a record without captions has its text view missing; a record with neither is
dropped and counted in the card.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvbench.data.model import DatasetCard, MultiViewDataset, encode_labels

from .images import IMAGE_ENCODERS, ImageInput, encode_images
from .text import TEXT_ENCODERS, TextParams, describe, encode_texts

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Record:
    """One sample: an id, its image (path/array/None), its captions and optional label."""

    id: str
    image: ImageInput = None
    captions: list[str] = field(default_factory=list)
    label: str | None = None


@dataclass(frozen=True)
class EncoderChoice:
    """Encoders and their options for one build."""

    image_encoder: str = "efficientnet_lite0"
    text_encoder: str = "doc2vec"
    text: TextParams = TextParams()
    batch_size: int = 32
    cache: bool = True


def read_captions(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """``{image id: {"captions": [...], "label": str | None}}`` from a JSON or CSV captions file.

    JSON: ``{id: [captions]}``, ``{id: "caption"}`` or ``{id: {"captions": [...], "label"|"category": ...}}``.
    CSV: a header with ``image`` (or ``id``), ``caption`` and optionally ``label``; one row per caption.
    """
    path = Path(path)
    out: dict[str, dict[str, Any]] = {}
    if path.suffix.lower() == ".json":
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a captions JSON must map image ids to captions")
        for key, value in raw.items():
            if isinstance(value, str):
                out[key] = {"captions": [value], "label": None}
            elif isinstance(value, list):
                out[key] = {"captions": [str(c) for c in value], "label": None}
            elif isinstance(value, dict):
                caps = value.get("captions", value.get("caption", []))
                caps = [caps] if isinstance(caps, str) else list(caps or [])
                label = value.get("label", value.get("category"))
                out[key] = {"captions": [str(c) for c in caps], "label": None if label is None else str(label)}
            else:
                raise ValueError(f"{path}: entry {key!r} is neither a caption, a list nor an object")
        return out
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            cols = reader.fieldnames or []
            id_col = "image" if "image" in cols else "id" if "id" in cols else None
            if id_col is None or "caption" not in cols:
                raise ValueError(f"{path}: a captions CSV needs columns image (or id) and caption; found {cols}")
            for row in reader:
                entry = out.setdefault(row[id_col], {"captions": [], "label": None})
                if row["caption"]:
                    entry["captions"].append(row["caption"])
                if row.get("label"):
                    entry["label"] = row["label"]
        return out
    raise ValueError(f"{path}: captions must be a .json or .csv file")


def index_images(folder: str | os.PathLike) -> dict[str, Path]:
    """Image files under ``folder`` (recursively) by file name and by stem."""
    index: dict[str, Path] = {}
    for p in sorted(Path(folder).rglob("*")):
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            index.setdefault(p.name, p)
            index.setdefault(p.stem, p)
    return index


def records_from_folder(images: str | os.PathLike, captions: str | os.PathLike) -> list[Record]:
    """Join a folder of images with a captions file by image id (file name or stem).

    Images without captions and captions without images both become records.
    """
    caps = read_captions(captions)
    index = index_images(images)
    records, used = [], set()
    for key, entry in caps.items():
        path = index.get(key) or index.get(Path(key).stem)
        if path is not None:
            used.add(path)
        records.append(Record(key, path, entry["captions"], entry["label"]))
    for p in sorted(set(index.values()) - used):
        records.append(Record(p.name, p, [], None))
    return records


def build_image_text(
    records: Sequence[Record],
    card: DatasetCard,
    choice: EncoderChoice = EncoderChoice(),
    cache_root: str | os.PathLike | None = None,
) -> MultiViewDataset:
    """The two-view dataset (``image``, ``text``) of ``records``; fills the card's extractor notes.
    Features are cached under ``cache_root`` (None, or ``choice.cache`` off: no cache)."""
    if not choice.cache:
        cache_root = None
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("record ids must be unique")
    img, img_ok, failures = encode_images(
        [r.image for r in records], choice.image_encoder, choice.batch_size, cache_root
    )
    docs = [" ".join(c.strip() for c in r.captions if c.strip()) for r in records]
    txt_ok = np.array([bool(d) for d in docs])
    keep = img_ok | txt_ok
    if not txt_ok[keep].any():
        raise ValueError("no record has a caption: the text view would be empty")
    txt_rows = np.flatnonzero(txt_ok & keep)
    txt_feat = encode_texts([docs[i] for i in txt_rows], choice.text_encoder, choice.text, cache_root)
    text = np.zeros((len(records), txt_feat.shape[1]), dtype=np.float32)
    text[txt_rows] = txt_feat
    labels = None
    names: list[str] = []
    kept = [records[int(i)] for i in np.flatnonzero(keep)]
    if any(r.label is not None for r in kept):
        if any(r.label is None for r in kept):
            raise ValueError("some records have a label and others do not: label all of them or none")
        labels, names = encode_labels([r.label for r in kept])
    card.feature_extractors = {
        "image": IMAGE_ENCODERS[choice.image_encoder].description,
        "text": describe(choice.text_encoder, choice.text) + "; all captions of an image are joined into one document",
    }
    card.extra = {
        **card.extra,
        "classes": names,
        "n_records": len(records),
        "dropped_no_view": int((~keep).sum()),
        "image_missing": int((~img_ok[keep]).sum()),
        "text_missing": int((~txt_ok[keep]).sum()),
        "image_decode_failures": failures[:20],
        "n_image_decode_failures": len(failures),
    }
    mask = np.stack([img_ok, txt_ok], axis=1)[keep]
    return MultiViewDataset([img[keep], text[keep]], ["image", "text"], mask, labels, [r.id for r in kept], card)


@dataclass
class ImageTextParams:
    """Builder options shared by the image–caption datasets (``--param KEY=VALUE``)."""

    image_encoder: str = "efficientnet_lite0"
    text_encoder: str = "doc2vec"
    text_dim: int = 300
    text_epochs: int = 40
    text_min_count: int = 2
    seed: int = 0
    batch_size: int = 32
    cache: bool = True

    def __post_init__(self) -> None:
        if self.image_encoder not in IMAGE_ENCODERS:
            raise ValueError(f"unknown image_encoder {self.image_encoder!r}: choose one of {', '.join(IMAGE_ENCODERS)}")
        if self.text_encoder not in TEXT_ENCODERS:
            raise ValueError(f"unknown text_encoder {self.text_encoder!r}: choose one of {', '.join(TEXT_ENCODERS)}")
        if min(self.text_dim, self.text_epochs, self.batch_size) < 1:
            raise ValueError("text_dim, text_epochs and batch_size must be positive")

    def choice(self) -> EncoderChoice:
        return EncoderChoice(
            self.image_encoder,
            self.text_encoder,
            TextParams(dim=self.text_dim, epochs=self.text_epochs, min_count=self.text_min_count, seed=self.seed),
            self.batch_size,
            self.cache,
        )
