"""Tiny GML classifiers and data samples shared by the classification
model tests (imported by them; not a test module)."""
import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

COUNTS = [40, 20, 10, 5]


def samples(labels, start=0):
    return [
        DataSample(metainfo=dict(sample_idx=start + i)).set_gt_label(int(y))
        for i, y in enumerate(labels)
    ]


def backbone_cfg(depth=20):
    return dict(type='CIFARResNet', depth=depth)


def head_cfg(**kwargs):
    cfg = dict(
        type='GMLClsHead',
        num_classes=4,
        in_channels=64,
        embed_dim=8,
        queue=dict(size=16, base_size=2),
        prior=dict(counts=COUNTS),
        loss_gml=dict(type='GMLLoss', kd_weight=0.0))
    for key, value in kwargs.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = dict(cfg[key], **value)
        else:
            cfg[key] = value
    return cfg


def build_classifier(**kwargs):
    cfg = dict(
        type='GMLClassifier',
        backbone=backbone_cfg(),
        neck=dict(type='GlobalAveragePooling'),
        head=head_cfg())
    cfg.update(kwargs)
    return MODELS.build(cfg)


def teacher_cfg(checkpoint, depth=20):
    return dict(
        backbone=backbone_cfg(depth),
        neck=dict(type='GlobalAveragePooling'),
        head=head_cfg(loss_gml=dict(con_weight=0.0)),
        checkpoint=checkpoint)


def saved_teacher(tmp_path):
    """A stage-1 ImageClassifier of ``_teacher_cfg`` and its checkpoint."""
    teacher = MODELS.build(
        dict(type='ImageClassifier', **{
            k: v
            for k, v in teacher_cfg(None).items() if k != 'checkpoint'
        }))
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    return teacher, ckpt
