"""GMLCascadeEncoderDecoder: two-stage GML for cascades (OCRNet layout), the
last stage's queue filled by a frozen teacher cascade."""
import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mil_seg.gml.functional import distillation_kl

IMAGES = 2, 3, 32, 32


def teacher_cfg(builders, first_stage_channels=16):
    """Stage 1: the OCR cascade, its GML stage without the contrastive
    term."""
    heads = builders.ocr_cascade_heads(loss_gml=dict(con_weight=0.0))
    heads[0]['channels'] = first_stage_channels
    return builders.segmentor(heads, dilated=True, cascade=True)


def save_teacher(builders, path, seed=3, **kwargs):
    """A stage-1 cascade with random weights and BN statistics, saved."""
    torch.manual_seed(seed)
    teacher = MODELS.build(teacher_cfg(builders, **kwargs))
    teacher.train()
    with torch.no_grad():
        teacher.extract_feat(torch.randn(*IMAGES) * 3 + 1)
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict()), path)
    return teacher


def student_cfg(builders, checkpoint, teacher=None, **loss_gml):
    heads = builders.ocr_cascade_heads(
        key_in_channels=16, loss_gml=dict(dict(con_weight=1.0), **loss_gml))
    return builders.two_stage_student(
        builders.segmentor(heads, dilated=True, cascade=True),
        teacher or teacher_cfg(builders), checkpoint)


def build_student(builders, checkpoint, **kwargs):
    return builders.build_initialised(
        student_cfg(builders, checkpoint, **kwargs))


def reference_teacher_outputs(teacher, images):
    """Last-stage decoder features and logits of the saved stage-1 model,
    computed through mmseg's own cascade calls."""
    teacher.eval()
    with torch.no_grad():
        x = teacher.extract_feat(images)
        previous = teacher.decode_head[0].forward(x)
        features = teacher.decode_head[1].decoder(x, previous)
        logits = teacher(images, mode='tensor')
    return features, logits


def test_teacher_frozen_and_queue_holds_its_last_stage_features(
        builders, labels, tmp_path):
    saved = save_teacher(builders, tmp_path / 'teacher.pth')
    saved_state = {k: v.clone() for k, v in saved.state_dict().items()}
    model = build_student(builders, tmp_path / 'teacher.pth')
    model.train()
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())

    images = torch.randn(*IMAGES)
    losses = model.loss(images, builders.make_data_samples(labels))
    builders.check_cascade_losses(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for key, value in model.teacher.state_dict().items():
        torch.testing.assert_close(value, saved_state[key], msg=key)
    assert all(p.grad is None for p in model.teacher.parameters())
    head = model.decode_head[1]
    assert all(
        p.grad is not None for p in head.contrast.key_projector.parameters())
    assert model.decode_head[0].conv_seg.weight.grad is not None

    features, key_labels, sample_ids, valid = head.contrast.queue.get()
    assert int(valid.sum()) > 0
    expected_features, _ = reference_teacher_outputs(saved, images)
    ids = sample_ids[valid]
    image, pixel = ids // 2**22, ids % 2**22
    torch.testing.assert_close(features[valid],
                               expected_features.flatten(2)[image, :, pixel])
    size = expected_features.shape[2:]
    small = F.interpolate(labels[:, None].float(), size=size,
                          mode='nearest').long().flatten(1)
    assert torch.equal(small[image, pixel], key_labels[valid])


def test_distillation_of_the_teacher_cascade_matches_reference(
        builders, labels, tmp_path):
    saved = save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(builders, tmp_path / 'teacher.pth',
                          kd_weight=0.5, kd_temperature=2.0)
    model.train()
    images = torch.randn(*IMAGES)
    losses = model.loss(images, builders.make_data_samples(labels))
    with torch.no_grad():
        student = model(images, mode='tensor')
        _, teacher = reference_teacher_outputs(saved, images)
        size = labels.shape[1:]
        kl = distillation_kl(
            F.interpolate(student, size, mode='bilinear'),
            F.interpolate(teacher, size, mode='bilinear'),
            2.0,
            reduction='none')
    torch.testing.assert_close(losses['decode_1.loss_kd'],
                               0.5 * kl[labels != 255].mean())


def test_predict_uses_the_student_only(builders, labels, tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    model = build_student(builders, tmp_path / 'teacher.pth')
    model.eval()
    images = torch.randn(*IMAGES)
    with torch.no_grad():
        results = model.predict(images, builders.make_data_samples(labels))
        expected = model(images, mode='tensor')
        model.teacher = None  # prediction must not touch it
        again = model.predict(images, builders.make_data_samples(labels))
    torch.testing.assert_close(
        results[0].seg_logits.data,
        F.interpolate(expected, (32, 32), mode='bilinear')[0])
    torch.testing.assert_close(again[0].seg_logits.data,
                               results[0].seg_logits.data)


def test_checkpoint_of_another_first_stage_is_refused(builders, tmp_path):
    save_teacher(builders, tmp_path / 'wide.pth', first_stage_channels=24)
    with pytest.raises(ValueError, match='does not match model.teacher'):
        build_student(builders, tmp_path / 'wide.pth')


def test_config_mistakes_name_the_fix(builders, labels, tmp_path):
    save_teacher(builders, tmp_path / 'teacher.pth')
    plain_last_stage = teacher_cfg(builders)
    plain_last_stage['decode_head'][1] = dict(
        plain_last_stage['decode_head'][1]['decoder'],
        loss_decode=dict(type='CrossEntropyLoss'))
    with pytest.raises(TypeError, match=r'model.teacher.decode_head\[-1\]'):
        MODELS.build(student_cfg(builders, tmp_path / 'teacher.pth',
                                 teacher=plain_last_stage))
    cfg = student_cfg(builders, tmp_path / 'teacher.pth')
    cfg['decode_head'][1]['key_in_channels'] = 8
    with pytest.raises(ValueError, match='key_in_channels=16'):
        MODELS.build(cfg)
    # A two-stage cascade head in a plain CascadeEncoderDecoder.
    model = MODELS.build(
        builders.segmentor(
            builders.ocr_cascade_heads(key_in_channels=16),
            dilated=True,
            cascade=True))
    model.train()
    with pytest.raises(ValueError, match='GMLCascadeEncoderDecoder'):
        model.loss(torch.randn(*IMAGES), builders.make_data_samples(labels))
