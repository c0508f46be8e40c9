import copy

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mil_seg.cls.engine import ClassCountsHook

COUNTS = [40, 20, 10, 5]


def _samples(labels, start=0):
    return [
        DataSample(metainfo=dict(sample_idx=start + i)).set_gt_label(int(y))
        for i, y in enumerate(labels)
    ]


def _backbone(depth=20):
    return dict(type='CIFARResNet', depth=depth)


def _head(**kwargs):
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


def _classifier(**kwargs):
    cfg = dict(
        type='GMLClassifier',
        backbone=_backbone(),
        neck=dict(type='GlobalAveragePooling'),
        head=_head())
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_logit_adjusted_loss():
    logits = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    log_prior = torch.tensor(COUNTS, dtype=torch.float).div(75).log()
    loss = MODELS.build(
        dict(
            type='LogitAdjustedCELoss',
            num_classes=4,
            prior=dict(counts=COUNTS, smoothing=0.0)))
    assert loss(logits, labels) == pytest.approx(
        F.cross_entropy(logits + log_prior, labels).item(), rel=1e-5)
    # tau = 0: plain cross-entropy; soft targets agree with hard ones.
    plain = MODELS.build(
        dict(type='LogitAdjustedCELoss', num_classes=4,
             prior=dict(counts=COUNTS, tau=0.0)))
    assert plain(logits, labels) == pytest.approx(
        F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert loss(logits, F.one_hot(labels, 4).float()) == pytest.approx(
        loss(logits, labels).item(), rel=1e-5)
    # In an mmpretrain head, prediction has no prior.
    head = MODELS.build(
        dict(type='LinearClsHead', num_classes=4, in_channels=8,
             loss=dict(type='LogitAdjustedCELoss', num_classes=4)))
    assert head.loss_module.requires_class_counts
    head.loss_module.set_class_counts(COUNTS)
    assert not head.loss_module.requires_class_counts
    feats = (torch.randn(6, 8), )
    assert 'loss' in head.loss(feats, _samples(labels))
    pred = head.predict(feats)[0].pred_score
    assert torch.allclose(pred, head(feats)[0].softmax(0))


def test_gml_head_without_contrast_is_la_cosine_ce():
    head = MODELS.build(_head(loss_gml=dict(con_weight=0.0)))
    assert head.contrast is None
    feats = (torch.randn(6, 64), )
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    losses = head.loss(feats, _samples(labels))
    cos = F.normalize(feats[0], dim=1) @ F.normalize(
        head.fc.weight, dim=1).t()
    expected = F.cross_entropy(cos * 30 + head.prior.log_prior, labels)
    assert set(losses) == {'loss_sup'}
    assert losses['loss_sup'].item() == pytest.approx(expected.item(), 1e-5)
    # prediction: balanced posterior, optionally with a post-hoc tau
    pred = head.predict(feats)
    assert torch.allclose(pred[0].pred_score, (cos[0] * 30).softmax(0),
                          atol=1e-6)
    head.posthoc_tau = 1.0
    pred = head.predict(feats)
    adjusted = cos[0] * 30 - head.prior.probs.log()
    assert torch.allclose(pred[0].pred_score, adjusted.softmax(0), atol=1e-6)


def test_gml_classifier_loss_predict_and_ema():
    torch.manual_seed(0)
    model = _classifier(momentum=0.5)
    model.init_weights()
    labels = torch.tensor([0, 1, 2, 3])
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    losses = model.loss(views, _samples(labels))
    assert {'loss_sup', 'loss_con', 'loss_con_temp'} <= set(losses)
    # the current batch is in the queue (features before projection)
    features, queue_labels, ids, valid = model.head.contrast.queue.get()
    assert valid.sum() == 4
    assert sorted(ids[valid].tolist()) == [0, 1, 2, 3]
    assert features.shape[1] == 64
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    assert model.backbone.conv1.weight.grad is not None
    assert model.head.loss_gml.log_temperature.grad is not None
    assert all(p.grad is None for p in model.key_encoder.parameters())

    # EMA: new = (1 - momentum) * ema + momentum * student
    ema_before = copy.deepcopy(model.key_encoder.module.projector[0].weight)
    with torch.no_grad():
        model.head.contrast.projector[0].weight.add_(1.0)
    student = model.head.contrast.projector[0].weight.detach().clone()
    model.loss(views, _samples(labels, start=4))
    ema_after = model.key_encoder.module.projector[0].weight
    assert torch.allclose(ema_after, 0.5 * ema_before + 0.5 * student,
                          atol=1e-6)
    assert model.head.contrast.queue.get()[3].sum() == 8

    # two views: the query view also feeds the classifier
    assert 'loss_con' in model.loss(views[:2], _samples(labels))
    model.eval()
    with torch.no_grad():
        preds = model.predict(views[0])
    assert len(preds) == 4 and preds[0].pred_score.shape == (4, )


def _teacher_cfg(checkpoint, depth=20):
    return dict(
        backbone=_backbone(depth),
        neck=dict(type='GlobalAveragePooling'),
        head=_head(loss_gml=dict(con_weight=0.0)),
        checkpoint=checkpoint)


def _saved_teacher(tmp_path):
    """A stage-1 ImageClassifier of ``_teacher_cfg`` and its checkpoint."""
    teacher = MODELS.build(
        dict(type='ImageClassifier', **{
            k: v
            for k, v in _teacher_cfg(None).items() if k != 'checkpoint'
        }))
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    return teacher, ckpt


def test_teacher_mode_freezes_and_distils(tmp_path):
    teacher, ckpt = _saved_teacher(tmp_path)
    model = _classifier(
        head=_head(
            key_in_channels=64, loss_gml=dict(kd_weight=1.0)),
        teacher=_teacher_cfg(ckpt))
    model.init_weights()
    assert model.key_encoder is None
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value)
    model.train()
    assert not model.teacher.training
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    losses = model.loss(views, _samples([0, 1, 2, 3]))
    assert {'loss_sup', 'loss_con', 'loss_kd'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None and not p.requires_grad
               for p in model.teacher.parameters())
    assert model.head.contrast.key_projector[0].weight.grad is not None

    # a ResNet-20 checkpoint for a ResNet-32 teacher: clear error
    wrong = _classifier(
        head=_head(key_in_channels=64),
        teacher=_teacher_cfg(ckpt, depth=32))
    with pytest.raises(ValueError, match='does not match'):
        wrong.init_weights()
    # and a head of another width
    state = teacher.state_dict()
    state['head.fc.weight'] = torch.zeros(4, 32)
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(ValueError, match='shape mismatch'):
        model.load_teacher(ckpt)
    with pytest.raises(ValueError, match="key_in_channels to the teacher's"):
        _classifier(teacher=_teacher_cfg(ckpt))
    with pytest.raises(ValueError, match='needs a teacher'):
        _classifier(head=_head(loss_gml=dict(kd_weight=1.0)))


def test_missing_teacher_file_waits_for_a_student_checkpoint(tmp_path):
    """mmengine initialises weights before resuming: a missing teacher file
    is no error until a training step finds no teacher loaded."""
    student = dict(
        head=_head(key_in_channels=64, loss_gml=dict(kd_weight=1.0)))
    model = _classifier(
        teacher=_teacher_cfg(str(tmp_path / 'absent.pth')), **student)
    model.init_weights()
    model.train()
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    with pytest.raises(FileNotFoundError, match='gml-teacher'):
        model.loss(views, _samples([0, 1, 2, 3]))

    teacher, ckpt = _saved_teacher(tmp_path)
    loaded = _classifier(teacher=_teacher_cfg(ckpt), **student)
    loaded.init_weights()
    model.load_state_dict(loaded.state_dict())
    assert {'loss_sup', 'loss_kd'} <= set(
        model.loss(views, _samples([0, 1, 2, 3])))
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value)


def test_class_counts_hook_fills_prior_and_queue():
    model = _classifier(head=_head(prior=None))
    assert model.head.requires_class_counts

    class _Runner:
        pass

    runner = _Runner()
    runner.model = model
    runner._val_loop = None
    hook = ClassCountsHook()
    hook._counts = COUNTS
    hook.before_train(runner)
    assert model.head.prior.counts.tolist() == COUNTS
    assert model.head.contrast.queue.slot_size.tolist()[0] > \
        model.head.contrast.queue.slot_size.tolist()[-1]
    assert not model.head.requires_class_counts
