"""Mixed precision on the classification side: the GML head's and the
GML classifier's loss terms and gradients stay finite under
``torch.autocast('cpu', dtype=torch.bfloat16)`` on adversarial inputs
(huge or tiny features, a one-class batch, classes without keys, a huge
teacher), and the loss terms come out in float32."""
import copy

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mil_seg  # noqa: F401  (registration)

NUM_CLASSES = 4
CHANNELS = 8


def build_model(cfg):
    """Build in the mmpretrain scope, whatever scope an earlier test's
    runner left current (mmseg has a GMLClsHead too)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(cfg)


def build_head(**kwargs):
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
    batch = []
    for i, label in enumerate(labels):
        sample = DataSample(metainfo=dict(sample_idx=offset + i))
        batch.append(sample.set_gt_label(int(label)))
    return batch


def total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def assert_finite_terms(losses):
    assert losses, 'no loss terms'
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
        if name.startswith('loss'):
            assert value.dtype == torch.float32, (name, value.dtype)


CASES = {
    # name: (feature scale, batch labels)
    'huge_features': (1e4, [0, 1, 2, 3, 0, 1]),
    'near_float_max_features': (1e30, [0, 1, 2, 3, 0, 1]),
    'tiny_features': (1e-20, [0, 1, 2, 3, 0, 1]),
    'one_class_batch': (1.0, [2] * 6),
    'classes_without_keys': (1e3, [0, 0, 0, 1, 1, 1]),
}


@pytest.mark.parametrize('case', sorted(CASES))
@pytest.mark.parametrize('kd', [False, True], ids=['ema', 'teacher_kd'])
def test_head_loss_and_grads_finite_under_bf16_autocast(case, kd):
    scale, labels = CASES[case]
    extra = dict(
        key_in_channels=CHANNELS,
        loss_gml=dict(type='GMLLoss', kd_weight=1.0)) if kd else {}
    head = build_head(**extra)
    # a momentum copy of the projector, as GMLClassifier passes it
    key_projector = None if kd else copy.deepcopy(head.contrast.projector)
    generator = torch.Generator().manual_seed(0)
    for step in range(3):  # an empty queue first, then a filling one
        def draw(*shape):
            return torch.randn(*shape, generator=generator) * scale

        feats = draw(len(labels), CHANNELS).requires_grad_()
        query = draw(len(labels), CHANNELS).requires_grad_()
        keys = draw(len(labels), CHANNELS)
        teacher_logits = draw(len(labels), NUM_CLASSES) if kd else None
        head.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16):
            losses = head.loss((feats, ),
                               samples(labels, offset=10 * step),
                               query_feats=(query, ),
                               key_feats=keys,
                               key_projector=key_projector,
                               teacher_logits=teacher_logits)
        assert_finite_terms(losses)
        assert 'loss_con' in losses
        if kd:
            assert 'loss_kd' in losses
        total(losses).backward()
        for tensor in (feats, query):
            assert torch.isfinite(tensor.grad).all()
        for name, parameter in head.named_parameters():
            if parameter.grad is not None:
                assert torch.isfinite(parameter.grad).all(), name
    pushed = head.contrast.queue.num_pushed.tolist()
    present = sorted(set(labels))
    assert all(pushed[c] > 0 for c in present)
    assert all(pushed[c] == 0 for c in range(NUM_CLASSES)
               if c not in present)
    assert torch.isfinite(head.contrast.queue.features).all()


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


@pytest.mark.parametrize('teacher', [False, True], ids=['ema', 'teacher'])
@pytest.mark.parametrize('scale,labels', [(1e4, [0, 1, 2, 3]),
                                          (1.0, [3, 3, 3, 3])],
                         ids=['huge_images', 'one_class_batch'])
def test_classifier_three_views_finite_under_bf16_autocast(
        teacher, scale, labels):
    """The whole classifier (backbone, EMA key encoder or frozen teacher,
    head) on 3 views of 32 x 32 images, in training mode."""
    model = tiny_classifier(teacher)
    model.train()
    generator = torch.Generator().manual_seed(0)
    views = [
        torch.randn(len(labels), 3, 32, 32, generator=generator) * scale
        for _ in range(3)
    ]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(views, samples(labels))
    assert_finite_terms(losses)
    assert 'loss_con' in losses
    total(losses).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    if teacher:
        assert all(p.grad is None for p in model.teacher.parameters())
