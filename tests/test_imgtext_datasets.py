"""End-to-end builds of pascal, coco_cross/coco_all, rgbd and web_news on generated files in the
official formats, downloaded from a local HTTP server; plus pascal on the real shared captions."""

import hashlib
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import RAW_DIR, needs_raw
from imgtext_helpers import write_jpeg
from localserver import LocalServer

from mvbench.config import build_config
from mvbench.data.sources import DataPaths, DatasetUnavailableError, get_source

FAST = {"text_encoder": "tfidf_svd", "text_dim": 3, "text_min_count": 1}


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MVBENCH_RAW_DIR", str(tmp_path / "no-raw"))


def build(name, raw, **params):
    source = get_source(name, DataPaths.resolve())
    data = source.build(raw, build_config(source.Config, {**FAST, **params}))
    data.validate()
    return data


# -- pascal -----------------------------------------------------------------------------------------
PAGE_ROW = '<tr><td><img src="{cat}/{name}"/></td>\n<td><table>\n{caps}</table></td></tr>\n'


def pascal_page(rows):
    body = "".join(
        PAGE_ROW.format(cat=c, name=n, caps="".join(f"<tr><td> {t}</td></tr>\n" for t in caps)) for c, n, caps in rows
    )
    return f"<html><body>\n<table>\n{body}</table>\n</body></html>\n"


def test_pascal_downloads_official_page_and_images(tmp_path):
    www = tmp_path / "www" / "pascal-sentences"
    rows = [
        ("aeroplane", "2008_000001.jpg", ["A plane on a runway.", "A jet parked."]),
        ("aeroplane", "2008_000002.jpg", ["A plane in the sky.", "An airplane flying."]),
        ("cat", "2008_000003.jpg", ["A cat on a sofa.", "A sleeping cat."]),
        ("cat", "2008_000004.jpg", ["A cat on a bed.", "A kitten."]),
    ]
    www.mkdir(parents=True)
    (www / "index.html").write_text(pascal_page(rows))
    for i, (cat, name, _) in enumerate(rows[:3]):  # the fourth image is missing on the server
        write_jpeg(www / cat / name, i)
    with LocalServer(tmp_path / "www") as url:
        data = build("pascal", tmp_path / "raw", url=f"{url}/pascal-sentences/")
    assert (tmp_path / "raw" / "index.html").exists() and (tmp_path / "raw" / "cat" / "2008_000003.jpg").exists()
    assert list(data.ids) == [r[1] for r in rows]
    assert data.labels.tolist() == [0, 0, 1, 1] and data.card.extra["classes"] == ["aeroplane", "cat"]
    assert data.mask[:, 0].tolist() == [True, True, True, False] and data.mask[:, 1].all()


def test_pascal_unreachable_page_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="--raw DIR"):
        build("pascal", tmp_path / "raw", url="http://127.0.0.1:1/pascal-sentences/")


@needs_raw("pascal_sentences", "pascal_sentences.json")
def test_pascal_on_real_captions_and_47_images():
    data = build("pascal", RAW_DIR / "pascal_sentences", text_dim=20)
    assert data.n_samples == 1000 and data.n_clusters == 20 and data.view_dims == [1280, 20]
    assert data.mask[:, 0].sum() == 47 and data.mask[:, 1].all()
    assert np.bincount(data.labels).tolist() == [50] * 20


# -- coco -------------------------------------------------------------------------------------------
CATS = [
    (1, "person", "person"),
    (3, "car", "vehicle"),
    (5, "airplane", "vehicle"),
    (13, "stop sign", "outdoor"),
    (25, "giraffe", "animal"),
]


def coco_files(www: Path, url: str) -> str:
    """A COCO 2014-style annotation zip; images 1-9: which categories each one shows."""
    shows = {1: [1], 2: [1, 1], 3: [1, 3], 4: [5], 5: [5], 6: [13, 13], 7: [25], 8: [], 9: [3]}
    images, inst, caps = [], [], []
    for img_id, cats in shows.items():
        name = f"COCO_train2014_{img_id:012d}.jpg"
        images.append(
            {"id": img_id, "file_name": name, "coco_url": f"{url}/train2014/{name}", "width": 48, "height": 40}
        )
        if img_id != 5:  # image 5 is missing on the server
            write_jpeg(www / "train2014" / name, img_id)
        inst += [
            {"id": 100 * img_id + k, "image_id": img_id, "category_id": c, "iscrowd": 0} for k, c in enumerate(cats)
        ]
        caps += [
            {
                "id": 1000 * img_id + k,
                "image_id": img_id,
                "caption": f"photo {img_id} caption {k} " + " ".join(n for i, n, _ in CATS if i in cats),
            }
            for k in range(2)
        ]
    categories = [{"id": i, "name": n, "supercategory": s} for i, n, s in CATS]
    archive = www / "annotations_trainval2014.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(
            "annotations/instances_train2014.json",
            json.dumps({"images": images, "annotations": inst, "categories": categories}),
        )
        zf.writestr("annotations/captions_train2014.json", json.dumps({"images": images, "annotations": caps}))
    return hashlib.sha256(archive.read_bytes()).hexdigest()


def test_coco_cross_and_all_selection_and_download(tmp_path):
    www = tmp_path / "www"
    with LocalServer(www) as url:
        digest = coco_files(www, url)
        common = dict(
            splits="train2014", annotations_url=f"{url}/annotations_trainval2014.zip", annotations_sha256=digest
        )
        cross = build("coco_cross", tmp_path / "raw", categories="person,airplane,stop sign,giraffe", **common)
        # single-category images: 1, 2 (person), 4, 5 (airplane), 6 (stop sign), 7 (giraffe), 9 (car)
        assert list(cross.ids) == ["1", "2", "4", "5", "6", "7"]
        assert cross.card.extra["classes"] == ["airplane", "giraffe", "person", "stop sign"]
        assert cross.labels.tolist() == [2, 2, 0, 0, 3, 1]
        assert cross.mask[:, 0].tolist() == [True, True, True, False, True, True]  # image 5 not served
        assert cross.card.extra["single_category_candidates"] == {
            "airplane": 2,
            "car": 1,
            "giraffe": 1,
            "person": 2,
            "stop sign": 1,
        }
        assert (tmp_path / "raw" / "train2014" / "COCO_train2014_000000000007.jpg").exists()
        everything = build("coco_all", tmp_path / "raw", min_images=2, **common)
        assert sorted(set(everything.card.extra["classes"])) == ["airplane", "person"]
        capped = build("coco_all", tmp_path / "raw", min_images=1, max_per_category=1, **common)
        assert capped.n_samples == 5 and np.bincount(capped.labels).max() == 1


def test_coco_annotation_checksum_mismatch(tmp_path):
    www = tmp_path / "www"
    with LocalServer(www) as url:
        coco_files(www, url)
        with pytest.raises(DatasetUnavailableError, match="sha256 mismatch"):
            build(
                "coco_cross",
                tmp_path / "raw",
                splits="train2014",
                annotations_sha256="0" * 64,
                annotations_url=f"{url}/annotations_trainval2014.zip",
            )


# -- rgbd -------------------------------------------------------------------------------------------
def write_nyu_mat(path: Path, scenes: list[str]) -> None:
    """The v7.3 layout of nyu_depth_v2_labeled.mat: images (n, 3, W, H) uint8, sceneTypes cell refs."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=rng.integers(0, 256, (len(scenes), 3, 32, 24), dtype=np.uint8))
        refs = f.create_group("#refs#")
        ref_list = []
        for i, s in enumerate(scenes):
            ds = refs.create_dataset(f"s{i}", data=np.array([[ord(c)] for c in s], dtype=np.uint16))
            ref_list.append(ds.ref)
        f.create_dataset("sceneTypes", data=np.array([ref_list], dtype=h5py.ref_dtype))


def test_rgbd_downloads_mat_and_descriptions(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    scenes = ["kitchen", "kitchen", "bedroom", "bedroom", "bedroom", "cafe"]
    write_nyu_mat(www / "nyu_depth_v2_labeled.mat", scenes)
    with zipfile.ZipFile(www / "desc.zip", "w") as zf:
        for i in range(1, 6):  # frame 6 has no description
            zf.writestr(f"descriptions/{i:04d}.txt", f"a {scenes[i - 1]} with a table and chair number {i}")
    digest = hashlib.sha256((www / "nyu_depth_v2_labeled.mat").read_bytes()).hexdigest()
    with LocalServer(www) as url:
        with pytest.raises(DatasetUnavailableError, match="sha256 mismatch"):  # the pinned official checksum
            build("rgbd", tmp_path / "raw", min_scene_images=2, mat_url=f"{url}/nyu_depth_v2_labeled.mat")
        data = build(
            "rgbd",
            tmp_path / "raw",
            min_scene_images=2,
            mat_url=f"{url}/nyu_depth_v2_labeled.mat",
            mat_sha256=digest,
            descriptions_url=f"{url}/desc.zip",
        )
    assert list(data.ids) == ["nyu0001", "nyu0002", "nyu0003", "nyu0004", "nyu0005"]  # 'cafe' has 1 frame
    assert data.card.extra["classes"] == ["bedroom", "kitchen"] and data.labels.tolist() == [1, 1, 0, 0, 0]
    assert data.mask.all()
    assert data.card.extra["scene_type_counts"] == {"bedroom": 3, "kitchen": 2, "cafe": 1}


def test_rgbd_frame_orientation(tmp_path):
    from mvbench.datasets.rgbd import _Frame

    write_nyu_mat(tmp_path / "m.mat", ["a"])
    with h5py.File(tmp_path / "m.mat") as f:
        frame = _Frame(f["images"], 0)()
        assert frame.shape == (24, 32, 3) and frame[5, 7, 2] == f["images"][0, 2, 7, 5]


# -- web_news ---------------------------------------------------------------------------------------
def test_web_news_layout(tmp_path):
    raw = tmp_path / "web_news"
    (raw / "texts").mkdir(parents=True)
    (raw / "categories.list").write_text("culture\nsports\n")
    for i, cat in [(1, 1), (2, 1), (3, 2), (4, 2)]:
        (raw / "texts" / f"{i}.txt").write_text(["文化新闻", "体育比赛"][cat - 1] + f"第{i}篇", encoding="utf-8")
        if i != 2:
            write_jpeg(raw / "images" / ["culture", "sports"][cat - 1] / f"{i}.jpg", i)
    (raw / "trainset_txt_img_cat.list").write_text("1\t1\t1\n2\t2\t1\n3\t3\t2\n")
    (raw / "testset_txt_img_cat.list").write_text("4\t4\t2")
    data = build("web_news", raw, text_encoder="char_tfidf")
    assert list(data.ids) == ["news1", "news2", "news3", "news4"] and data.labels.tolist() == [0, 0, 1, 1]
    assert data.mask[:, 0].tolist() == [True, False, True, True] and data.mask[:, 1].all()


@needs_raw("web_news")
def test_web_news_real_records():
    from mvbench.datasets.web_news import web_news_records

    records = web_news_records(RAW_DIR / "web_news")
    assert len(records) == 2200 and len({r.label for r in records}) == 10
    assert sum(r.image is None for r in records) == 10 and all(r.captions for r in records)
