"""TorchAutoAugment applies the policy in RGB whatever the input order."""
import numpy as np
import pytest
import torch
from mmpretrain.registry import TRANSFORMS

import mil_seg  # noqa: F401
from mil_seg.cls.datasets.transforms.torch_auto_augment import \
    TorchAutoAugment


def test_bgr_input_gets_the_rgb_policy():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    changed = 0
    for seed in range(20):
        torch.manual_seed(seed)
        from_rgb = TorchAutoAugment(channel_order='rgb').transform(
            dict(img=rgb.copy()))['img']
        torch.manual_seed(seed)
        from_bgr = TorchAutoAugment(channel_order='bgr').transform(
            dict(img=bgr.copy()))['img']
        np.testing.assert_array_equal(from_bgr, from_rgb[..., ::-1])
        torch.manual_seed(seed)
        naive = TorchAutoAugment(channel_order='rgb').transform(
            dict(img=bgr.copy()))['img']
        changed += int(not np.array_equal(naive, from_bgr))
    # Some colour operations weight channels: treating BGR as RGB differs.
    assert changed > 0


def test_channel_order_is_checked():
    with pytest.raises(ValueError, match='channel_order'):
        TorchAutoAugment(channel_order='rbg')


def test_torch_auto_augment():
    transform = TRANSFORMS.build(dict(type='TorchAutoAugment'))
    img = np.random.RandomState(0).randint(0, 256, (32, 32, 3), np.uint8)
    out = transform(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
