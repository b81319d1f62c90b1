import hashlib

import numpy as np
import pytest
import torch
from conftest import RAW_DIR, needs_raw
from imgtext_helpers import write_jpeg
from localserver import LocalServer

from mvbench.features.efficientnet_lite import SameConv2d, pretrained_efficientnet_lite0
from mvbench.features.images import encode_images
from mvbench.features.resnet import ResNet50, pretrained_resnet50


def test_same_padding_matches_tensorflow():
    # 4x4 input, 3x3 kernel, stride 2: TF pads 0 before and 1 after (total (2-1)*2+3-4 = 1).
    conv = SameConv2d(1, 1, 3, stride=2, bias=False)
    conv.weight.data.fill_(1.0)
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    y = conv(x)[0, 0]
    assert y.shape == (2, 2)
    assert y[0, 0] == x[0, 0, 0:3, 0:3].sum()
    assert y[1, 1] == x[0, 0, 2:4, 2:4].sum()


def test_efficientnet_lite0_loads_imagenet_weights_strictly():
    model = pretrained_efficientnet_lite0()
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    with torch.no_grad():
        f = model.features(torch.zeros(2, 3, 64, 64))
    assert f.shape == (2, 1280) and torch.isfinite(f).all()


@needs_raw("pascal_sentences", "images")
def test_efficientnet_recognises_aeroplanes():
    from PIL import Image

    from mvbench.features.images import IMAGE_ENCODERS, preprocess

    files = sorted((RAW_DIR / "pascal_sentences" / "images").glob("*.jpg"))[:6]
    x = torch.from_numpy(
        np.stack([preprocess(Image.open(f).convert("RGB"), IMAGE_ENCODERS["efficientnet_lite0"]) for f in files])
    )
    with torch.no_grad():
        top = pretrained_efficientnet_lite0()(x).argmax(1)
    # ImageNet 404 airliner, 895 warplane, 908 wing
    assert sum(int(t) in (404, 895, 908) for t in top) >= 4


def test_resnet50_architecture_and_loading_path(tmp_path):
    torch.manual_seed(0)
    model = ResNet50().eval()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032
    with torch.no_grad():
        assert model.features(torch.zeros(1, 3, 64, 64)).shape == (1, 2048)
    blob = tmp_path / "w.pth"
    torch.save(model.state_dict(), blob)
    digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    www = tmp_path / "www"
    www.mkdir()
    blob.rename(www / f"resnet50-{digest[:8]}.pth")
    with LocalServer(www) as url:
        loaded = pretrained_resnet50(f"{url}/resnet50-{digest[:8]}.pth", model_dir=str(tmp_path / "hub"))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x))


def test_resnet50_unreachable_weights_give_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="efficientnet_lite0"):
        pretrained_resnet50("http://127.0.0.1:1/resnet50-00000000.pth", model_dir=str(tmp_path))


def test_encode_images_marks_failures_missing_and_caches(tmp_path):
    paths = [write_jpeg(tmp_path / f"{i}.jpg", i) for i in range(3)]
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    inputs = paths + [tmp_path / "bad.jpg", None, np.zeros((30, 30, 3), dtype=np.uint8)]
    feats, ok, failures = encode_images(inputs, batch_size=2, cache_root=tmp_path / "cache")
    assert ok.tolist() == [True, True, True, False, False, True]
    assert len(failures) == 1 and "bad.jpg" in failures[0]
    assert feats.shape == (6, 1280) and not feats[3:5].any()

    class Boom(torch.nn.Module):
        def features(self, x):
            raise AssertionError("the cache should have answered")

    again, ok2, _ = encode_images(inputs, cache_root=tmp_path / "cache", model=Boom())
    assert np.array_equal(again, feats) and np.array_equal(ok2, ok)
