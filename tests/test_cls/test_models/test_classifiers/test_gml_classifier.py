"""GMLClassifier: the EMA key encoder, or a frozen teacher and
distillation (two stages)."""
import copy

import pytest
import torch

from ...cls_builders import (build_classifier, head_cfg, samples,
                             saved_teacher, teacher_cfg)


def test_gml_classifier_loss_predict_and_ema():
    torch.manual_seed(0)
    model = build_classifier(momentum=0.5)
    model.init_weights()
    labels = torch.tensor([0, 1, 2, 3])
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    losses = model.loss(views, samples(labels))
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
    model.loss(views, samples(labels, start=4))
    ema_after = model.key_encoder.module.projector[0].weight
    assert torch.allclose(ema_after, 0.5 * ema_before + 0.5 * student,
                          atol=1e-6)
    assert model.head.contrast.queue.get()[3].sum() == 8

    # two views: the query view also feeds the classifier
    assert 'loss_con' in model.loss(views[:2], samples(labels))
    model.eval()
    with torch.no_grad():
        preds = model.predict(views[0])
    assert len(preds) == 4 and preds[0].pred_score.shape == (4, )


def test_teacher_mode_freezes_and_distils(tmp_path):
    teacher, ckpt = saved_teacher(tmp_path)
    model = build_classifier(
        head=head_cfg(
            key_in_channels=64, loss_gml=dict(kd_weight=1.0)),
        teacher=teacher_cfg(ckpt))
    model.init_weights()
    assert model.key_encoder is None
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value)
    model.train()
    assert not model.teacher.training
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    losses = model.loss(views, samples([0, 1, 2, 3]))
    assert {'loss_sup', 'loss_con', 'loss_kd'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is None and not p.requires_grad
               for p in model.teacher.parameters())
    assert model.head.contrast.key_projector[0].weight.grad is not None

    # a ResNet-20 checkpoint for a ResNet-32 teacher: clear error
    wrong = build_classifier(
        head=head_cfg(key_in_channels=64),
        teacher=teacher_cfg(ckpt, depth=32))
    with pytest.raises(ValueError, match='does not match'):
        wrong.init_weights()
    # and a head of another width
    state = teacher.state_dict()
    state['head.fc.weight'] = torch.zeros(4, 32)
    torch.save(dict(state_dict=state), ckpt)
    with pytest.raises(ValueError, match='shape mismatch'):
        model.load_teacher(ckpt)
    with pytest.raises(ValueError, match="key_in_channels to the teacher's"):
        build_classifier(teacher=teacher_cfg(ckpt))
    with pytest.raises(ValueError, match='needs a teacher'):
        build_classifier(head=head_cfg(loss_gml=dict(kd_weight=1.0)))


def test_missing_teacher_file_waits_for_a_student_checkpoint(tmp_path):
    """mmengine initialises weights before resuming: a missing teacher file
    is no error until a training step finds no teacher loaded."""
    student = dict(
        head=head_cfg(key_in_channels=64, loss_gml=dict(kd_weight=1.0)))
    model = build_classifier(
        teacher=teacher_cfg(str(tmp_path / 'absent.pth')), **student)
    model.init_weights()
    model.train()
    views = [torch.rand(4, 3, 16, 16) for _ in range(3)]
    with pytest.raises(FileNotFoundError, match='gml-teacher'):
        model.loss(views, samples([0, 1, 2, 3]))

    teacher, ckpt = saved_teacher(tmp_path)
    loaded = build_classifier(teacher=teacher_cfg(ckpt), **student)
    loaded.init_weights()
    model.load_state_dict(loaded.state_dict())
    assert {'loss_sup', 'loss_kd'} <= set(
        model.loss(views, samples([0, 1, 2, 3])))
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value)
