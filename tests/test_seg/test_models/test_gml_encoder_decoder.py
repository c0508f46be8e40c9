"""GMLEncoderDecoder: two-stage GML, the queue filled by a frozen teacher."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mil_seg.gml.functional import distillation_kl


def fcn(builders, channels=16):
    decoder = dict(builders.tiny_decoders()['fcn'])
    decoder.update(channels=channels, dropout_ratio=0.0)
    return decoder


def teacher_cfg(builders, channels=24):
    """Stage 1: GMLHead without the contrastive term (LA cosine CE)."""
    return builders.segmentor(
        builders.gml_head(fcn(builders, channels),
                          loss_gml=dict(con_weight=0.0)),
        dilated=True)


def save_teacher(builders, path, channels=24, seed=3):
    """Build a stage-1 model with random weights and save its checkpoint."""
    torch.manual_seed(seed)
    teacher = MODELS.build(teacher_cfg(builders, channels))
    # Non-trivial BN statistics, so a teacher left in train mode would show.
    teacher.train()
    with torch.no_grad():
        teacher.extract_feat(torch.randn(2, 3, 32, 32) * 3 + 1)
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict()), path)
    return teacher.state_dict()


def student_cfg(builders, checkpoint, key_in_channels=24, teacher=None,
                **loss_gml):
    head = builders.gml_head(
        fcn(builders),
        key_in_channels=key_in_channels,
        loss_gml=dict(dict(con_weight=1.0), **loss_gml))
    return builders.two_stage_student(
        builders.segmentor(head, dilated=True),
        teacher or teacher_cfg(builders), checkpoint)


def build_student(builders, checkpoint, **kwargs):
    return builders.build_initialised(
        student_cfg(builders, checkpoint, **kwargs))


def test_teacher_loaded_frozen_and_kept_in_eval_mode(builders, labels,
                                                     tmp_path):
    saved = save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(builders, tmp_path / 'teacher.pth')
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)
    model.train()
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())

    images = torch.randn(2, 3, 32, 32)
    losses = model.loss(images, builders.make_data_samples(labels))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    # BN statistics of the teacher never move; it gets no gradient.
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)
    assert all(p.grad is None for p in model.teacher.parameters())
    # Student head: queries through its projector, keys through the
    # trainable key projector.
    head = model.decode_head
    assert all(p.grad is not None
               for p in head.contrast.projector.parameters())
    assert all(
        p.grad is not None for p in head.contrast.key_projector.parameters())
    assert head.loss_gml.log_temperature.grad is not None
    # Its weights are in the student's checkpoint (resume needs no file).
    assert any(k.startswith('teacher.') for k in model.state_dict())


def test_queue_holds_teacher_features_at_anchor_pixels(builders, labels,
                                                       tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(builders, tmp_path / 'teacher.pth')
    model.train()
    images = torch.randn(2, 3, 32, 32)
    model.loss(images, builders.make_data_samples(labels))
    queue = model.decode_head.contrast.queue
    features, key_labels, sample_ids, valid = queue.get()
    assert features.shape[1] == 24  # the teacher decoder's channels
    assert int(valid.sum()) > 0
    teacher_features, _ = model.teacher_outputs(images)  # 2 x 24 x 4 x 4
    ids = sample_ids[valid]
    image, pixel = ids // 2**22, ids % 2**22
    expected = teacher_features.flatten(2)[image, :, pixel]
    torch.testing.assert_close(features[valid], expected)
    small = F.interpolate(labels[:, None].float(), size=(4, 4),
                          mode='nearest').long().flatten(1)
    assert torch.equal(small[image, pixel], key_labels[valid])


def test_distillation_matches_reference(builders, labels, tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(
        builders, tmp_path / 'teacher.pth', kd_weight=0.5,
        kd_temperature=2.0)
    model.train()
    images = torch.randn(2, 3, 32, 32)
    losses = model.loss(images, builders.make_data_samples(labels))
    assert math.isfinite(losses['decode.loss_kd'].item())

    # Reference: student and teacher logits (prior-free) at label size,
    # T^2 KL(teacher || student) averaged over non-ignored pixels.
    with torch.no_grad():
        student = model.decode_head.forward(model.extract_feat(images))
        _, teacher = model.teacher_outputs(images)
        size = labels.shape[1:]
        student = F.interpolate(student, size, mode='bilinear')
        teacher = F.interpolate(teacher, size, mode='bilinear')
        kl = distillation_kl(student, teacher, 2.0, reduction='none')
        expected = 0.5 * kl[labels != 255].mean()
    torch.testing.assert_close(losses['decode.loss_kd'], expected)


def test_missing_and_mismatched_teacher_checkpoints(builders, labels,
                                                    tmp_path):
    # Mmengine initialises weights before resuming: no error yet, but no
    # training step with a teacher that nothing loaded.
    model = build_student(builders, tmp_path / 'absent.pth')
    model.train()
    images = torch.randn(2, 3, 32, 32)
    with pytest.raises(FileNotFoundError, match='gml-teacher'):
        model.loss(images, builders.make_data_samples(labels))
    # A student checkpoint (teacher_loaded set) fills it.
    save_teacher(builders, tmp_path / 'teacher.pth')
    trained = build_student(builders, tmp_path / 'teacher.pth')
    model.load_state_dict(trained.state_dict())
    model.loss(images, builders.make_data_samples(labels))
    for key, value in trained.teacher.state_dict().items():
        torch.testing.assert_close(model.teacher.state_dict()[key], value)
    # A stage-1 checkpoint of a wider decoder than model.teacher says.
    save_teacher(builders, tmp_path / 'wide.pth', channels=32)
    with pytest.raises(ValueError, match='does not match model.teacher'):
        build_student(builders, tmp_path / 'wide.pth')


def test_config_mistakes_name_the_fix(builders, labels, tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    with pytest.raises(ValueError, match='key_in_channels=24'):
        MODELS.build(student_cfg(builders, tmp_path / 'teacher.pth',
                                 key_in_channels=16))
    plain_teacher = builders.segmentor(fcn(builders, 24), dilated=True)
    with pytest.raises(TypeError, match='must be a GMLHead'):
        MODELS.build(student_cfg(builders, tmp_path / 'teacher.pth',
                                 teacher=plain_teacher))
    # A two-stage head (or distillation) in a plain EncoderDecoder.
    images = torch.randn(2, 3, 32, 32)
    for head_kwargs, match in ((dict(key_in_channels=24), 'GMLEncoderDecoder'),
                               (dict(loss_gml=dict(kd_weight=1.0)),
                                'kd_weight')):
        model = MODELS.build(builders.segmentor(
            builders.gml_head(fcn(builders), **head_kwargs), dilated=True))
        model.train()
        with pytest.raises(ValueError, match=match):
            model.loss(images, builders.make_data_samples(labels))


def test_predict_uses_the_student_only(builders, labels, tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(builders, tmp_path / 'teacher.pth')
    model.eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        results = model.predict(images, builders.make_data_samples(labels))
        expected = model.decode_head.forward(model.extract_feat(images))
    assert results[0].seg_logits.data.shape == (builders.NUM_CLASSES, 32, 32)
    torch.testing.assert_close(
        results[0].seg_logits.data,
        F.interpolate(expected, (32, 32), mode='bilinear')[0])


def test_a_teacher_config_of_only_its_checkpoint_is_the_students_stage1(
        builders, labels, tmp_path):
    """``teacher=dict(checkpoint=...)`` (and its default type): the
    student's own segmentor as stage 1 trained it (no contrastive term, no
    distillation, no keys), loaded strictly from the checkpoint."""
    saved = save_teacher(builders, tmp_path / 'teacher.pth', channels=16)
    model = build_student(builders, tmp_path / 'teacher.pth',
                          key_in_channels=16,
                          teacher=dict(type='EncoderDecoder'), kd_weight=1.0)
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, saved[key], msg=key)
    assert set(model.teacher.state_dict()) == set(saved)
    head = model.teacher.decode_head
    assert head.contrast is None and head.loss_gml.kd_weight == 0
    assert head.key_in_channels is None
    assert model.decode_head.with_contrastive
    assert model.decode_head.loss_gml.kd_weight == 1.0
    losses = model.loss(torch.randn(2, 3, 32, 32),
                        builders.make_data_samples(labels))
    assert {'decode.loss_con', 'decode.loss_kd'} <= set(losses)


def test_stage_one_model_keeps_the_teachers_own_parts():
    from mil_seg.seg.models.frozen_teacher import stage_one_model
    student = dict(
        backbone=dict(type='B', pretrained='weights', init_cfg=dict(
            type='Pretrained', checkpoint='x')),
        decode_head=[dict(type='A'), dict(
            type='GMLCascadeHead', key_in_channels=8,
            loss_gml=dict(con_weight=1.0, kd_weight=1.0,
                          init_temperature=0.2))],
        num_stages=2, test_cfg=dict(mode='whole'))
    teacher = stage_one_model(dict(type='CascadeEncoderDecoder'), student)
    assert teacher['backbone'] == dict(type='B', pretrained=None)
    assert teacher['decode_head'][0] == dict(type='A')
    assert teacher['decode_head'][1] == dict(
        type='GMLCascadeHead', loss_gml=dict(
            con_weight=0.0, kd_weight=0.0, init_temperature=0.2))
    assert teacher['num_stages'] == 2 and 'neck' not in teacher
    assert student['decode_head'][1]['key_in_channels'] == 8  # not changed
    own = stage_one_model(dict(backbone=dict(type='C')), student)
    assert own['backbone'] == dict(type='C')
