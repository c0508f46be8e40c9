"""Tiny segmentors and data samples shared by the model tests."""
import pytest
import torch
from mmengine.config import ConfigDict

import mil_seg  # noqa: F401  (compat layer + registration)
import mil_seg.seg.models  # noqa: F401
from ...seg_samples import make_data_samples

NUM_CLASSES = 5
IMAGE_SIZE = 32
NORM = dict(type='BN', requires_grad=True)


def long_tailed_labels(batch_size: int = 2,
                       size: int = IMAGE_SIZE,
                       seed: int = 0) -> torch.Tensor:
    """Random B x H x W labels with blocks of 4x4 pixels, a long-tailed class
    mix and some ignored (255) blocks."""
    generator = torch.Generator().manual_seed(seed)
    probs = torch.tensor([0.45, 0.25, 0.12, 0.06, 0.02, 0.10])
    blocks = torch.multinomial(
        probs, batch_size * (size // 4)**2, replacement=True,
        generator=generator).view(batch_size, size // 4, size // 4)
    blocks[blocks == NUM_CLASSES] = 255
    return blocks.repeat_interleave(4, 1).repeat_interleave(4, 2)


def tiny_prior(mode: str = 'fixed') -> dict:
    if mode == 'online':
        return dict(type='ClassPrior', num_classes=NUM_CLASSES, mode='online')
    return dict(
        type='ClassPrior',
        num_classes=NUM_CLASSES,
        counts=[4500, 2500, 1200, 600, 200])


def tiny_backbone(dilated: bool = False) -> dict:
    """ResNet-18 layout with 8 base channels: 8/16/32/64 channels."""
    return dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=8,
        base_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4) if dilated else (1, 1, 1, 1),
        strides=(1, 2, 1, 1) if dilated else (1, 2, 2, 2),
        norm_cfg=NORM,
        contract_dilation=True)


def tiny_decoders() -> dict:
    """One small config per supported decoder type (for ``GMLHead``)."""
    common = dict(num_classes=NUM_CLASSES, norm_cfg=NORM, dropout_ratio=0.1)
    return dict(
        aspp=dict(
            type='DepthwiseSeparableASPPHead',
            in_channels=64,
            in_index=3,
            channels=16,
            dilations=(1, 2, 3, 4),
            c1_in_channels=8,
            c1_channels=4,
            **common),
        uper=dict(
            type='UPerHead',
            in_channels=[8, 16, 32, 64],
            in_index=[0, 1, 2, 3],
            pool_scales=(1, 2),
            channels=16,
            **common),
        segformer=dict(
            type='SegformerHead',
            in_channels=[8, 16, 32, 64],
            in_index=[0, 1, 2, 3],
            channels=16,
            **common),
        fcn=dict(
            type='FCNHead',
            in_channels=64,
            in_index=3,
            channels=16,
            num_convs=1,
            concat_input=True,
            **common))


def gml_head(decoder: dict, **kwargs) -> dict:
    cfg = dict(
        type='GMLHead',
        decoder=decoder,
        prior=tiny_prior(),
        queue=dict(size=256),
        embed_dim=8,
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=32))
    cfg.update(kwargs)
    return cfg


def segmentor(decode_head, dilated: bool = False, cascade: bool = False,
              auxiliary_head=None) -> dict:
    cfg = dict(
        type='CascadeEncoderDecoder' if cascade else 'EncoderDecoder',
        data_preprocessor=None,
        backbone=tiny_backbone(dilated),
        decode_head=decode_head,
        train_cfg=ConfigDict(),
        test_cfg=ConfigDict(mode='whole'))
    if cascade:
        cfg['num_stages'] = len(decode_head)
    if auxiliary_head is not None:
        cfg['auxiliary_head'] = auxiliary_head
    return cfg


def ocr_cascade_heads(**kwargs) -> list:
    """FCN stage + GML-wrapped OCR stage (OCRNet layout)."""
    common = dict(num_classes=NUM_CLASSES, norm_cfg=NORM)
    return [
        dict(
            type='FCNHead',
            in_channels=64,
            in_index=3,
            channels=16,
            num_convs=1,
            concat_input=False,
            dropout_ratio=-1,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
            **common),
        gml_head(
            dict(
                type='OCRHead',
                in_channels=64,
                in_index=3,
                channels=16,
                ocr_channels=8,
                dropout_ratio=-1,
                **common),
            type='GMLCascadeHead',
            **kwargs)
    ]


def two_stage_student(cfg: dict, teacher: dict, checkpoint) -> dict:
    """Turn a segmentor config into a two-stage student of ``teacher``
    (GMLEncoderDecoder, or GMLCascadeEncoderDecoder for a cascade)."""
    cascade = cfg['type'] == 'CascadeEncoderDecoder'
    return dict(
        cfg,
        type='GMLCascadeEncoderDecoder' if cascade else 'GMLEncoderDecoder',
        teacher=dict(teacher, checkpoint=str(checkpoint)))


def build_initialised(cfg: dict, seed: int = 0):
    """Build a model under a fixed seed and initialise its weights (which
    loads a two-stage student's teacher)."""
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def check_cascade_losses(losses: dict) -> None:
    """The OCR cascade's loss terms: plain CE for stage 0, finite GML terms
    for stage 1."""
    import math
    assert 'decode_0.loss_ce' in losses
    for key in ('decode_1.loss_sup', 'decode_1.loss_con',
                'decode_1.loss_con_temp'):
        assert math.isfinite(losses[key].item()), key


def backbone_features(batch_size=2, seed=0):
    """Features of the tiny dilated backbone (8/16/32/64 channels)."""
    from mmseg.registry import MODELS
    torch.manual_seed(seed)
    backbone = MODELS.build(tiny_backbone(dilated=True))
    images = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad():
        return backbone(images)


def build_head(decoder='fcn', **kwargs):
    """A GMLHead over one of :func:`tiny_decoders`, built under seed 0."""
    from mmseg.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(gml_head(tiny_decoders()[decoder], **kwargs))


@pytest.fixture
def labels():
    return long_tailed_labels()


@pytest.fixture
def builders():
    """The builder functions above, for the tests of this folder (a fixture
    rather than an import, so no test relies on ``sys.path`` layout)."""
    import types
    return types.SimpleNamespace(
        NUM_CLASSES=NUM_CLASSES,
        IMAGE_SIZE=IMAGE_SIZE,
        make_data_samples=make_data_samples,
        long_tailed_labels=long_tailed_labels,
        tiny_prior=tiny_prior,
        tiny_backbone=tiny_backbone,
        tiny_decoders=tiny_decoders,
        gml_head=gml_head,
        segmentor=segmentor,
        ocr_cascade_heads=ocr_cascade_heads,
        two_stage_student=two_stage_student,
        build_initialised=build_initialised,
        check_cascade_losses=check_cascade_losses,
        backbone_features=backbone_features,
        build_head=build_head)
