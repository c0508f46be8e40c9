"""A tiny GMLHead and data samples for the in-process reliability tests."""
from typing import Optional

import torch

import mil_seg  # noqa: F401  (compat layer + registration)

NUM_CLASSES = 4
CHANNELS = 8


def build_head(seed: int = 0, **overrides):
    """A GMLHead over a one-conv FCN decoder, 8 input channels."""
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    cfg = dict(
        type='GMLHead',
        decoder=dict(
            type='FCNHead',
            in_channels=CHANNELS,
            channels=CHANNELS,
            num_convs=1,
            concat_input=False,
            num_classes=NUM_CLASSES,
            norm_cfg=dict(type='BN'),
            dropout_ratio=0.0),
        prior=dict(type='ClassPrior', counts=[80, 40, 2, 1]),
        embed_dim=4,
        queue=dict(size=64),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=16))
    cfg.update(overrides)
    return MODELS.build(cfg).train()


def data_samples(labels: torch.Tensor) -> list:
    """SegDataSamples with ``gt_sem_seg`` from B x H x W labels."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None].long())
        height, width = label.shape
        sample.set_metainfo(
            dict(img_shape=(height, width), pad_shape=(height, width)))
        samples.append(sample)
    return samples


def block_labels(batch_size: int = 2,
                 size: int = 32,
                 classes: Optional[list] = None,
                 seed: int = 0) -> torch.Tensor:
    """B x size x size labels made of 8 x 8 blocks of the given classes."""
    classes = list(range(NUM_CLASSES)) if classes is None else classes
    generator = torch.Generator().manual_seed(seed)
    index = torch.randint(
        0, len(classes), (batch_size, size // 8, size // 8),
        generator=generator)
    blocks = torch.tensor(classes)[index]
    return blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)


def features(batch_size: int = 2,
             size: int = 8,
             scale: float = 1.0,
             seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(
        batch_size, CHANNELS, size, size, generator=generator) * scale


def total_loss(losses: dict) -> torch.Tensor:
    return sum(value for key, value in losses.items() if 'loss' in key)
