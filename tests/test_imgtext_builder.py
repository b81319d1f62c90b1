import json

import pytest
from imgtext_helpers import write_jpeg

from mvbench.data import DatasetCard
from mvbench.features.builder import EncoderChoice, Record, build_image_text, read_captions, records_from_folder
from mvbench.features.text import TextParams

FAST = EncoderChoice(text_encoder="tfidf_svd", text=TextParams(dim=3, min_count=1), cache=False)


def test_read_captions_json_and_csv(tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps({"a.jpg": {"captions": ["x", "y"], "category": "cat"}, "b.jpg": ["z"], "c.jpg": "w"})
    )
    caps = read_captions(tmp_path / "c.json")
    assert caps["a.jpg"] == {"captions": ["x", "y"], "label": "cat"}
    assert caps["b.jpg"]["captions"] == ["z"] and caps["c.jpg"]["label"] is None
    (tmp_path / "c.csv").write_text("image,caption,label\na,first,dog\na,second,dog\nb,third,cat\n")
    caps = read_captions(tmp_path / "c.csv")
    assert caps["a"] == {"captions": ["first", "second"], "label": "dog"}
    (tmp_path / "bad.csv").write_text("file,text\nx,y\n")
    with pytest.raises(ValueError, match="needs columns image"):
        read_captions(tmp_path / "bad.csv")


def test_builder_masks_missing_views_and_joins_captions(tmp_path):
    for i, name in enumerate(["a", "b", "c", "orphan"]):
        write_jpeg(tmp_path / "img" / f"{name}.jpg", i)
    (tmp_path / "img" / "c.jpg").write_bytes(b"broken")
    (tmp_path / "caps.csv").write_text(
        "image,caption\na,a dog in a park\na,a dog runs\nb,a cat on a sofa\nc,a red car\nnoimage,a blue car\n"
    )
    records = records_from_folder(tmp_path / "img", tmp_path / "caps.csv")
    assert [r.id for r in records] == ["a", "b", "c", "noimage", "orphan.jpg"]
    assert records[0].captions == ["a dog in a park", "a dog runs"]
    data = build_image_text(records, DatasetCard(name="t"), FAST)
    data.validate()
    assert data.view_names == ["image", "text"]
    assert data.mask.tolist() == [[True, True], [True, True], [False, True], [False, True], [True, False]]
    assert not data.view("image")[2:4].any() and not data.view("text")[4].any()
    assert data.labels is None
    assert data.card.extra["n_image_decode_failures"] == 1
    assert "joined into one document" in data.card.feature_extractors["text"]


def test_builder_drops_records_without_any_view_and_needs_consistent_labels():
    recs = [
        Record("a", None, ["one dog"], "x"),
        Record("b", None, ["two dogs"], "y"),
        Record("c", None, [], "x"),
        Record("d", None, ["a cat"], "y"),
    ]
    data = build_image_text(recs, DatasetCard(name="t"), FAST)
    assert list(data.ids) == ["a", "b", "d"] and data.labels.tolist() == [0, 1, 1]
    assert data.card.extra["dropped_no_view"] == 1 and data.card.extra["classes"] == ["x", "y"]
    recs[1].label = None
    with pytest.raises(ValueError, match="label all of them or none"):
        build_image_text(recs, DatasetCard(name="t"), FAST)


def test_image_captions_source_from_a_folder(tmp_path, monkeypatch):
    from mvbench.data import store
    from mvbench.data.sources import DataPaths, DatasetUnavailableError, prepare

    monkeypatch.setenv("MVBENCH_DATA_DIR", str(tmp_path / "data"))
    raw = tmp_path / "mine"
    write_jpeg(raw / "pics" / "1.jpg", 1)
    write_jpeg(raw / "pics" / "2.png", 2)
    (raw / "captions.json").write_text(
        json.dumps(
            {
                "1.jpg": {"captions": ["a dog"], "label": "dog"},
                "2": {"captions": ["a cat"], "label": "cat"},
                "3.jpg": {"captions": ["a cow"], "label": "cow"},
            }
        )
    )
    params = {"text_encoder": "tfidf_svd", "text_dim": 1, "text_min_count": 1, "collection": "mine"}
    data = store.load(prepare("image_captions", DataPaths.resolve(), params, raw=raw))
    assert list(data.ids) == ["1.jpg", "2", "3.jpg"] and data.mask[:, 0].tolist() == [True, True, False]
    assert (tmp_path / "data" / "features").is_dir()  # the feature cache lives under the data dir
    with pytest.raises(DatasetUnavailableError, match="captions.json"):
        prepare("image_captions", DataPaths.resolve(), {**params, "collection": "other"}, raw=tmp_path)


def test_bad_encoder_names_are_config_errors():
    from mvbench.config import ConfigError, build_config
    from mvbench.features.builder import ImageTextParams

    with pytest.raises(ConfigError, match="choose one of efficientnet_lite0, resnet50"):
        build_config(ImageTextParams, {"image_encoder": "vit"})
    with pytest.raises(ConfigError, match="unknown text_encoder"):
        build_config(ImageTextParams, {"text_encoder": "bert"})
