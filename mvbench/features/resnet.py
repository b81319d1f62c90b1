"""ResNet-50 (He et al., CVPR 2016), the bottleneck v1.5 layout (stride on the 3x3 convolution) of
the official PyTorch ImageNet checkpoint, whose parameter names it matches so that the weights load
strictly. The weights are downloaded on first use with ``torch.hub.load_state_dict_from_url``
(sha256-prefix checked, cached under ``$TORCH_HOME``). :meth:`ResNet50.features` returns the
globally average-pooled 2048-d penultimate layer, the JECL paper's image features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RESNET50_URL = "https://download.pytorch.org/models/resnet50-0676ba61.pth"  # IMAGENET1K_V1
FEATURE_DIM = 2048


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carries the stride), 1x1 expand (x4), with a projection shortcut when needed."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = nn.Conv2d(c_in, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet50(nn.Module):
    """ResNet-50: stem 7x7/2 + max-pool, stages of 3, 4, 6, 3 bottlenecks, global pool, fc."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        c_in = 64
        for i, (blocks, width, stride) in enumerate([(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], start=1):
            layer = []
            for b in range(blocks):
                layer.append(Bottleneck(c_in, width, stride if b == 0 else 1))
                c_in = width * Bottleneck.expansion
            setattr(self, f"layer{i}", nn.Sequential(*layer))
        self.fc = nn.Linear(FEATURE_DIM, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def pretrained_resnet50(url: str = RESNET50_URL, model_dir: str | None = None) -> ResNet50:
    """ResNet-50 with the official ImageNet weights (downloaded once, then cached), in eval mode."""
    try:
        state = torch.hub.load_state_dict_from_url(
            url, model_dir=model_dir, map_location="cpu", progress=True, check_hash=True, weights_only=True
        )
    except (OSError, RuntimeError) as exc:
        raise RuntimeError(
            f"cannot load the ResNet-50 ImageNet weights from {url} ({exc}); they are "
            "downloaded on first use: connect to the internet once, or use "
            "image_encoder=efficientnet_lite0 (offline)"
        ) from None
    model = ResNet50()
    model.load_state_dict(state, strict=True)
    return model.eval()
