"""``pascal``: UIUC Pascal Sentences (Rashtchian et al., NAACL-HLT 2010 workshop).

1000 PASCAL VOC 2008 images, 20 categories x 50, five captions each. The official page
(vision.cs.uiuc.edu/pascal-sentences/) is one HTML table: each row holds ``<img src="CATEGORY/FILE.jpg">``
and a nested table with one caption per cell.

Raw sources, in order of preference:

- a folder holding ``pascal_sentences.json`` (``{file: {"category", "captions"}}``, the layout of the
  Pascal_Sentence_Dataset-downloader repository) and ``images/`` (or ``CATEGORY/`` folders);
- a folder holding the official page saved as ``index.html`` and its ``CATEGORY/FILE.jpg`` images;
- nothing: the page is downloaded from ``url`` into the raw folder, then every image it lists.

Images that are absent (or fail to download or decode) become missing image views; their captions
still give the text view.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

from mvbench.console import track
from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.download import DownloadError, download, sha256_file
from mvbench.data.sources import DatasetSource, DatasetUnavailableError
from mvbench.features.builder import ImageTextParams, Record, build_image_text, index_images

log = logging.getLogger(__name__)
OFFICIAL_URL = "http://vision.cs.uiuc.edu/pascal-sentences/"


@dataclass
class PascalParams(ImageTextParams):
    url: str = OFFICIAL_URL
    """The official page; used only when the raw folder has neither the JSON nor index.html."""


class _PageParser(HTMLParser):
    """Rows of the official page: image ``src`` and the texts of the nested caption cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.depth = 0
        self.in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.depth += 1
        elif tag == "img" and self.depth == 1:
            self.rows.append((dict(attrs).get("src") or "", []))
        elif tag == "td" and self.depth == 2 and self.rows:
            self.in_caption = True
            self.rows[-1][1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif tag == "td":
            self.in_caption = False

    def handle_data(self, data: str) -> None:
        if self.in_caption:
            caps = self.rows[-1][1]
            caps[-1] += data


def parse_page(html: str) -> dict[str, dict]:
    """``{file name: {"category", "captions", "src"}}`` from the official page."""
    parser = _PageParser()
    parser.feed(html)
    out = {}
    for src, caps in parser.rows:
        category, _, name = src.rpartition("/")
        out[name] = {
            "category": category.rsplit("/", 1)[-1],
            "captions": [c.strip() for c in caps if c.strip()],
            "src": src,
        }
    if not out:
        raise ValueError("no image rows found in the Pascal Sentences page: is it the official index page?")
    return out


def fetch_official(raw: Path, url: str) -> None:
    """Download the page and its images into ``raw`` (existing files are kept; failures are logged)."""
    page = download(url, raw / "index.html", progress=False)
    entries = parse_page(page.read_text(encoding="utf-8", errors="replace"))
    failed = []
    for name, entry in track(entries.items(), total=len(entries), description="pascal images"):
        try:
            download(urljoin(url, entry["src"]), raw / entry["category"] / name, progress=False)
        except DownloadError as exc:
            failed.append(str(exc))
    if len(failed) == len(entries):
        raise DownloadError(f"no Pascal Sentences image could be downloaded; first error: {failed[0]}")
    for msg in failed:
        log.warning("%s (its image view will be missing)", msg)


def pascal_records(raw: Path) -> list[Record]:
    """Records from a raw folder holding pascal_sentences.json or the official index.html."""
    if (raw / "pascal_sentences.json").exists():
        entries = json.loads((raw / "pascal_sentences.json").read_text(encoding="utf-8"))
    else:
        entries = parse_page((raw / "index.html").read_text(encoding="utf-8", errors="replace"))
    images = index_images(raw)
    return [Record(name, images.get(name), list(e["captions"]), e["category"]) for name, e in entries.items()]


class PascalSentences(DatasetSource):
    description = "UIUC Pascal Sentences: 1000 images x 5 captions, 20 classes (image, text views)"
    n_clusters = 20
    Config = PascalParams

    def default_raw(self) -> Path | None:
        return self.paths.raw_folder("pascal_sentences")

    def build(self, raw: Path | None, params: PascalParams) -> MultiViewDataset:
        raw = Path(raw) if raw is not None else self.default_raw()
        if not (raw / "pascal_sentences.json").exists() and not (raw / "index.html").exists():
            try:
                fetch_official(raw, params.url)
            except DownloadError as exc:
                raise DatasetUnavailableError(
                    f"{exc}; or, from a local copy: mvbench datasets prepare {self.name} --raw DIR "
                    f"(a folder holding pascal_sentences.json or index.html)"
                ) from None
        card = DatasetCard(
            name="pascal",
            source=OFFICIAL_URL,
            citation="Rashtchian, Young, Hodosh, Hockenmaier (2010). Collecting Image Annotations Using "
            "Amazon's Mechanical Turk. NAACL-HLT Workshop on Creating Speech and Language Data "
            "with Amazon's Mechanical Turk.",
            license="PASCAL VOC images (Flickr terms); captions for research use",
            description=self.description + "; images not present in the raw folder are missing image views",
        )
        # No checksum of the official page or images is published: the captions file's is recorded.
        captions = raw / ("pascal_sentences.json" if (raw / "pascal_sentences.json").exists() else "index.html")
        card.extra = {"captions_file": captions.name, "captions_sha256": sha256_file(captions)}
        return build_image_text(pascal_records(raw), card, params.choice(), self.paths.data_dir / "features")
