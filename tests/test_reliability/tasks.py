"""Per-task builders of the reliability tests: the same checks run on the
segmentation side (``GMLHead`` over a one-conv FCN decoder, mmseg) and the
classification side (``GMLClsHead`` / ``GMLClassifier``, mmpretrain).

Each task object offers the same names: ``NUM_CLASSES`` and ``CHANNELS``
(both 4 and 8), ``build_head(**overrides)``, ``total(losses)``,
``head_step(head, labels, scale=1.0, seed=0)`` (one ``head.loss`` call on
random features of the given scale; returns the losses and the input
tensors that require grad), ``queue_too_small`` (the config of a queue
smaller than ``NUM_CLASSES * base_size``) and ``loss_sequence(seed)``
(the logged values of a few optimiser steps of a tiny model)."""
import copy
import types
from typing import Optional

import torch
from mmengine.registry import DefaultScope

import mil_seg  # noqa: F401  (compat layer + registration)

NUM_CLASSES = 4
CHANNELS = 8


def total_loss(losses: dict) -> torch.Tensor:
    return sum(value for key, value in losses.items() if 'loss' in key)


# ------------------------------------------------------------ segmentation
def seg_build_head(seed: int = 0, **overrides):
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
    with DefaultScope.overwrite_default_scope('mmseg'):
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


def seg_head_step(head, labels, scale=1.0, seed=0, inputs=None):
    """``head.loss`` on 8 x 8 features of 32 x 32 ``labels`` (B x H x W, or
    a class list for :func:`block_labels`)."""
    if not torch.is_tensor(labels):
        labels = block_labels(classes=labels, seed=seed)
    if inputs is None:
        inputs = features(scale=scale, seed=seed)
    inputs = inputs.clone().requires_grad_()
    losses = head.loss([inputs], data_samples(labels), dict())
    return losses, [inputs]


def seg_loss_sequence(seed: int, steps: int = 4) -> list:
    torch.manual_seed(seed)  # the anchor sampler draws from torch's RNG
    head = seg_build_head(
        seed=seed, prior=dict(type='ClassPrior', mode='online'))
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2)
    sequence = []
    for step in range(steps):
        optimizer.zero_grad()
        losses = head.loss([features(seed=step)],
                           data_samples(block_labels(seed=step)), dict())
        total_loss(losses).backward()
        optimizer.step()
        sequence.append({k: v.item() for k, v in losses.items()})
    return sequence


SEG = types.SimpleNamespace(
    name='seg',
    NUM_CLASSES=NUM_CLASSES,
    CHANNELS=CHANNELS,
    build_head=seg_build_head,
    head_step=seg_head_step,
    total=total_loss,
    queue_too_small=dict(size=7, base_size=2),
    queue_just_enough=dict(size=8, base_size=2),
    loss_sequence=seg_loss_sequence)


# ---------------------------------------------------------- classification
def build_model(cfg):
    """Build in the mmpretrain scope, whatever scope an earlier test's
    runner left current (mmseg has a GMLClsHead too)."""
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def cls_build_head(**kwargs):
    cfg = dict(
        type='GMLClsHead',
        num_classes=NUM_CLASSES,
        in_channels=CHANNELS,
        embed_dim=4,
        queue=dict(size=16, base_size=2),
        prior=dict(counts=[8, 4, 2, 1]),
        loss_gml=dict(type='GMLLoss', init_temperature=0.1))
    cfg.update(kwargs)
    torch.manual_seed(0)
    return build_model(cfg)


def samples(labels, offset=0):
    """Data samples with ``gt_label`` and ``sample_idx`` (as packed)."""
    from mmpretrain.structures import DataSample
    batch = []
    for i, label in enumerate(labels):
        sample = DataSample(metainfo=dict(sample_idx=offset + i))
        batch.append(sample.set_gt_label(int(label)))
    return batch


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def cls_head_step(head, labels, scale=1.0, seed=0, key_feats=None,
                  key_projector=None, teacher=False):
    """``head.loss`` on random query / key features of the given scale (and
    random teacher logits with ``teacher``); the keys are embedded by a
    momentum copy of the projector (as GMLClassifier passes it) unless the
    head has a key projector. A head without contrastive branch (stage 1)
    gets the features alone."""
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape):
        return torch.randn(*shape, generator=generator) * scale

    feats = draw(len(labels), CHANNELS).requires_grad_()
    if head.contrast is None:
        return head.loss((feats, ), samples(labels, offset=10 * seed)), [feats]
    query = draw(len(labels), CHANNELS).requires_grad_()
    if key_feats is None:
        key_feats = draw(len(labels), CHANNELS)
    if key_projector is None and head.contrast.key_projector is None:
        key_projector = copy.deepcopy(head.contrast.projector)
    teacher_logits = draw(len(labels), NUM_CLASSES) if teacher else None
    losses = head.loss((feats, ),
                       samples(labels, offset=10 * seed),
                       query_feats=(query, ),
                       key_feats=key_feats,
                       key_projector=key_projector,
                       teacher_logits=teacher_logits)
    return losses, [feats, query]


def tiny_classifier(teacher=False):
    head = dict(
        type='GMLClsHead',
        num_classes=NUM_CLASSES,
        in_channels=64,
        embed_dim=8,
        queue=dict(size=16, base_size=2),
        prior=dict(counts=[8, 4, 2, 1]),
        loss_gml=dict(type='GMLLoss', kd_weight=1.0 if teacher else 0.0))
    cfg = dict(
        type='GMLClassifier',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=head,
        data_preprocessor=dict(num_classes=NUM_CLASSES))
    if teacher:
        head['key_in_channels'] = 64
        cfg['teacher'] = dict(
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='GMLClsHead',
                num_classes=NUM_CLASSES,
                in_channels=64,
                loss_gml=dict(type='GMLLoss', con_weight=0.0)))
    torch.manual_seed(0)
    model = build_model(cfg)
    if teacher:
        model.teacher_loaded.fill_(True)  # its random weights stand in
    return model


def cls_loss_sequence(seed: int, steps: int = 3) -> list:
    from mmengine.runner import set_random_seed
    model = tiny_classifier()  # weights from seed 0
    set_random_seed(seed)  # the images and anything random in the steps
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sequence = []
    for step in range(steps):
        views = [torch.randn(4, 3, 32, 32) for _ in range(3)]
        optimizer.zero_grad()
        losses = model.loss(views, samples([0, 1, 2, 3], offset=4 * step))
        total(losses).backward()
        optimizer.step()
        sequence.append({k: v.item() for k, v in losses.items()})
    sequence.append(model.head.contrast.queue.features.sum().item())
    return sequence


CLS = types.SimpleNamespace(
    name='cls',
    NUM_CLASSES=NUM_CLASSES,
    CHANNELS=CHANNELS,
    build_head=cls_build_head,
    head_step=cls_head_step,
    total=total,
    queue_too_small=dict(size=7, base_size=2),
    queue_just_enough=dict(size=8, base_size=2),
    loss_sequence=cls_loss_sequence)

TASKS = dict(seg=SEG, cls=CLS)
