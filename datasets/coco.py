"""``coco_cross`` and ``coco_all``: single-category image–caption subsets of MS COCO 2014.

Selection (the reconstruction the JECL paper's sets are built by; every choice is a parameter):

1. For every image of the chosen ``splits`` (default ``train2014,val2014``), collect the set of
   distinct ``category_id`` of its instance annotations (``instances_<split>.json``; crowd
   annotations included). Images with exactly one distinct category are candidates, labelled by it;
   images without instance annotations are not.
2. ``coco_cross`` keeps the candidates of ten categories, one per supercategory: stop sign, airplane,
   suitcase, pizza, cell phone, person, giraffe, kite, toilet, clock. ``coco_all`` keeps the
   categories with at least ``min_images`` candidates.
3. Optionally at most ``max_per_category`` images per category (a seeded uniform sample).
4. All captions of an image (``captions_<split>.json``, usually 5) are joined into its document.

The paper reports coco_cross: 7429 images, 10 classes, largest 23.2 %, smallest 1.6 %; coco_all: 23189
images, 43 classes, 7.4 % / 0.4 %. Both largest classes hold 1720-1727 images (the intervals implied by
the rounded percentages overlap only there), so the paper's largest class has the same size in both
sets, which suggests a sub-sample or cap; see ``benchmarks/coco_counts.md``. The card records the
per-category counts obtained.

Annotations come from ``annotations_trainval2014.zip`` (official, 241 MB) unless the raw folder already
holds ``annotations/captions_<split>.json`` and ``annotations/instances_<split>.json``. Only the
selected images are downloaded, each from its ``coco_url``, into ``<raw>/<split>/<file_name>``; an image
that cannot be fetched or decoded is a missing image view.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mvbench.console import track
from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.download import DownloadError, download
from mvbench.data.sources import DatasetSource, DatasetUnavailableError
from mvbench.features.builder import ImageTextParams, Record, build_image_text

log = logging.getLogger(__name__)
ANNOTATIONS_URL = "http://images.cocodataset.org/annotations/annotations_trainval2014.zip"
#: sha256 of the official archive (252,872,794 bytes), as pinned by TensorFlow Datasets' coco2014 checksums.
ANNOTATIONS_SHA256 = "031296bbc80c45a1d1f76bf9a90ead27e94e99ec629208449507a4917a3bf009"
CROSS_CATEGORIES = "stop sign,airplane,suitcase,pizza,cell phone,person,giraffe,kite,toilet,clock"
CITATION = "Lin, Maire, Belongie, et al. (2014). Microsoft COCO: Common Objects in Context. ECCV 2014."


@dataclass
class CocoParams(ImageTextParams):
    splits: str = "train2014,val2014"
    """Comma-separated COCO 2014 splits whose annotations are pooled."""
    categories: str = ""
    """Comma-separated category names to keep ('' = every category with >= min_images candidates)."""
    min_images: int = 0
    """Keep only categories with at least this many single-category images."""
    max_per_category: int = 0
    """If > 0, sample at most this many images per category (seeded by ``seed``)."""
    download_images: bool = True
    annotations_url: str = ANNOTATIONS_URL
    annotations_sha256: str = ANNOTATIONS_SHA256
    """Verified after download; '' skips the check (only for a deliberately different archive)."""


def _split_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def ensure_annotations(raw: Path, splits: list[str], url: str, sha256: str = "") -> None:
    """Download and unpack the annotation archive unless every needed JSON is already in ``raw``."""
    needed = [f"annotations/{kind}_{split}.json" for split in splits for kind in ("captions", "instances")]
    if all((raw / n).exists() for n in needed):
        return
    archive = download(url, raw / Path(url).name, sha256=sha256 or None)
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        for n in needed:
            if n not in names:
                raise ValueError(f"{archive} has no {n}: is it the COCO 2014 train/val annotation archive?")
            zf.extract(n, raw)


def single_category_images(instances: dict) -> dict[int, int]:
    """``{image id: category id}`` of images whose annotations name exactly one distinct category."""
    cats: dict[int, set[int]] = defaultdict(set)
    for ann in instances["annotations"]:
        cats[ann["image_id"]].add(ann["category_id"])
    return {img: next(iter(c)) for img, c in cats.items() if len(c) == 1}


def select(raw: Path, p: CocoParams) -> tuple[list[Record], dict[str, int]]:
    """The selected records (image path, captions, category name) and the candidate count per category."""
    images, captions, label = {}, defaultdict(list), {}
    names: dict[int, str] = {}
    for split in _split_list(p.splits):
        inst = json.loads((raw / "annotations" / f"instances_{split}.json").read_text(encoding="utf-8"))
        names.update({c["id"]: c["name"] for c in inst["categories"]})
        for img in inst["images"]:
            images[img["id"]] = (split, img)
        label.update(single_category_images(inst))
        caps = json.loads((raw / "annotations" / f"captions_{split}.json").read_text(encoding="utf-8"))
        for ann in caps["annotations"]:
            captions[ann["image_id"]].append(ann["caption"])
    per_cat: dict[str, list[int]] = defaultdict(list)
    for img_id in sorted(label):
        per_cat[names[label[img_id]]].append(img_id)
    candidates = {c: len(v) for c, v in sorted(per_cat.items())}
    wanted = _split_list(p.categories)
    unknown = [c for c in wanted if c not in names.values()]
    if unknown:
        raise ValueError(f"unknown COCO categories {unknown}: use names such as 'stop sign', 'airplane'")
    keep = wanted or [c for c, n in candidates.items() if n >= p.min_images]
    rng = np.random.default_rng(p.seed)
    records = []
    for cat in keep:
        ids = per_cat.get(cat, [])
        if p.max_per_category > 0 and len(ids) > p.max_per_category:
            ids = sorted(rng.choice(ids, p.max_per_category, replace=False).tolist())
        for img_id in ids:
            split, img = images[img_id]
            records.append(Record(str(img_id), raw / split / img["file_name"], captions.get(img_id, []), cat))
    return records, candidates


def fetch_images(raw: Path, records: list[Record], urls: dict[str, str]) -> None:
    """Download the selected images that are not yet in ``raw``; failures become missing views."""
    failed = []
    for r in track(records, total=len(records), description="COCO images"):
        if r.image is not None and not Path(r.image).exists():
            try:
                download(urls[r.id], r.image, progress=False)
            except DownloadError as exc:
                failed.append(str(exc))
    if failed and len(failed) == len(records):
        raise DownloadError(f"no COCO image could be downloaded; first error: {failed[0]}")
    for msg in failed:
        log.warning("%s (its image view will be missing)", msg)


def image_urls(raw: Path, splits: list[str]) -> dict[str, str]:
    urls = {}
    for split in splits:
        inst = json.loads((raw / "annotations" / f"instances_{split}.json").read_text(encoding="utf-8"))
        urls.update({str(img["id"]): img["coco_url"] for img in inst["images"] if "coco_url" in img})
    return urls


class _Coco(DatasetSource):
    Config = CocoParams

    def default_raw(self) -> Path | None:
        return self.paths.raw_folder("coco")

    def build(self, raw: Path | None, params: CocoParams) -> MultiViewDataset:
        raw = Path(raw) if raw is not None else self.default_raw()
        splits = _split_list(params.splits)
        try:
            ensure_annotations(raw, splits, params.annotations_url, params.annotations_sha256)
        except DownloadError as exc:
            raise DatasetUnavailableError(
                f"{exc}; or, from a local copy: mvbench datasets prepare {self.name} --raw DIR (a folder holding "
                "annotations/captions_<split>.json and annotations/instances_<split>.json)"
            ) from None
        records, candidates = select(raw, params)
        if not records:
            raise ValueError("the COCO selection is empty: lower min_images or check the categories")
        if params.download_images:
            try:
                fetch_images(raw, records, image_urls(raw, splits))
            except DownloadError as exc:
                raise DatasetUnavailableError(
                    f"{exc}; or put the images under {raw}/<split>/, or pass "
                    "--param download_images=false to build without them"
                ) from None
        for r in records:
            if not Path(r.image).exists():
                r.image = None
        counts = {c: sum(r.label == c for r in records) for c in sorted({r.label for r in records})}
        card = DatasetCard(
            name=self.name,
            source="https://cocodataset.org (2014 train/val annotations; images via each image's coco_url)",
            citation=CITATION,
            license="annotations CC BY 4.0; images under their Flickr licenses",
            description=self.description,
            extra={
                "selection": {
                    "splits": splits,
                    "categories": _split_list(params.categories),
                    "min_images": params.min_images,
                    "max_per_category": params.max_per_category,
                },
                "single_category_candidates": candidates,
                "selected_per_category": counts,
            },
        )
        return build_image_text(records, card, params.choice(), self.paths.data_dir / "features")


@dataclass
class CocoCrossParams(CocoParams):
    categories: str = CROSS_CATEGORIES


@dataclass
class CocoAllParams(CocoParams):
    min_images: int = 100


class CocoCross(_Coco):
    description = (
        "COCO 2014 single-category images of 10 categories from 10 supercategories "
        "(JECL 'coco-cross'); image + joined captions"
    )
    n_clusters = 10
    Config = CocoCrossParams


class CocoAll(_Coco):
    description = (
        "COCO 2014 single-category images of every category with >= min_images such images "
        "(JECL 'coco-all'); image + joined captions"
    )
    n_clusters = None
    Config = CocoAllParams
