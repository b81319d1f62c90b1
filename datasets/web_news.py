"""``web_news``: 2200 Chinese news articles with one photo each, 10 categories.

Raw layout (the Web_News_Datasets repository, Wikipedia-dataset format): ``texts/N.txt``,
``images/<category>/N.jpg``, ``categories.list`` and ``trainset_txt_img_cat.list`` /
``testset_txt_img_cat.list`` with rows "text_id image_id category_index" (1-based index into
categories.list). Train and test rows are pooled. Views: ``image`` (EfficientNet-Lite0 by default)
and ``text`` (character n-gram TF-IDF + SVD by default, which needs no Chinese word segmentation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mvbench.data import DatasetCard, MultiViewDataset
from mvbench.data.sources import DatasetSource
from mvbench.features.builder import ImageTextParams, Record, build_image_text

LISTS = ("trainset_txt_img_cat.list", "testset_txt_img_cat.list")


@dataclass
class WebNewsParams(ImageTextParams):
    text_encoder: str = "char_tfidf"


def web_news_records(raw: Path) -> list[Record]:
    """One record per listed (text, image, category) row, in list order."""
    categories = (raw / "categories.list").read_text(encoding="utf-8").split()
    records = []
    for name in LISTS:
        for line in (raw / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            text_id, image_id, cat = line.split()
            if not 1 <= int(cat) <= len(categories):
                raise ValueError(f"{raw / name}: category index {cat} outside 1..{len(categories)}")
            text_path = raw / "texts" / f"{text_id}.txt"
            caption = text_path.read_text(encoding="utf-8").strip() if text_path.exists() else ""
            image = raw / "images" / categories[int(cat) - 1] / f"{image_id}.jpg"  # ids repeat across folders
            records.append(
                Record(
                    f"news{text_id}",
                    image if image.exists() else None,
                    [caption] if caption else [],
                    categories[int(cat) - 1],
                )
            )
    return records


class WebNews(DatasetSource):
    description = "2200 Chinese news articles + photos, 10 categories (image, text views from raw files)"
    n_clusters = 10
    Config = WebNewsParams

    def default_raw(self) -> Path | None:
        return self.paths.raw_dir / "web_news"

    def raw_available(self, raw: Path | None) -> bool:
        return raw is not None and (raw / "categories.list").exists() and (raw / "texts").is_dir()

    def raw_hint(self) -> str:
        return (
            f"get github.com/1599421259/Web_News_Datasets and run mvbench datasets prepare {self.name} --raw DIR "
            "(the folder holding texts/, "
            "images/ and categories.list), or set MVBENCH_RAW_DIR to a folder containing web_news/"
        )

    def build(self, raw: Path | None, params: WebNewsParams) -> MultiViewDataset:
        card = DatasetCard(
            name="web_news",
            source="https://github.com/1599421259/Web_News_Datasets (commit f6f8cf5e)",
            citation="Web News Datasets, github.com/1599421259/Web_News_Datasets",
            license="none stated (research use)",
            description=self.description + "; the train and test lists are pooled; one article is one document",
        )
        return build_image_text(web_news_records(Path(raw)), card, params.choice(), self.paths.data_dir / "features")
