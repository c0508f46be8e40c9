"""LogitAdjustedCELoss, the one class both toolboxes register: the cross
entropy of prior-adjusted logits in either (twin tests over ``task``);
against a naive per-pixel reference on segmentation maps; inside mmseg's
decode heads and mmpretrain's classification heads."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS

import mil_seg  # noqa: F401
import mil_seg.seg.models  # noqa: F401

COUNTS = [500.0, 200.0, 50.0, 10.0]
CLS_COUNTS = [40, 20, 10, 5]
TASKS = dict(seg=('mmseg', MODELS), cls=('mmpretrain', CLS_MODELS))


def build(task, cfg):
    scope, registry = TASKS[task]
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


@pytest.mark.parametrize('task', ['seg', 'cls'])
def test_loss_is_cross_entropy_of_prior_adjusted_logits(task):
    """Per pixel (B x C x H x W) or per image (B x C): CE(logits +
    log prior); with tau = 0, plain cross-entropy."""
    generator = torch.Generator().manual_seed(0)
    shape = (2, 4, 3, 5) if task == 'seg' else (6, 4)
    logits = torch.randn(*shape, generator=generator)
    labels = torch.randint(0, 4, shape[:1] + shape[2:], generator=generator)
    log_prior = torch.tensor(CLS_COUNTS, dtype=torch.float).div(75).log()
    log_prior = log_prior.view(1, -1, *[1] * (len(shape) - 2))
    loss = build(
        task,
        dict(
            type='LogitAdjustedCELoss',
            num_classes=4,
            prior=dict(counts=CLS_COUNTS, smoothing=0.0)))
    assert loss(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits + log_prior, labels).item(), rel=1e-5)
    plain = build(
        task,
        dict(type='LogitAdjustedCELoss', num_classes=4,
             prior=dict(counts=CLS_COUNTS, tau=0.0)))
    assert plain(logits, labels).item() == pytest.approx(
        F.cross_entropy(logits, labels).item(), rel=1e-5)


def naive_loss(logits, labels, log_prior, ignore_index=255,
               class_weight=None, pixel_weight=None, avg_non_ignore=False):
    """Loop over pixels: -w_y * log softmax(logits + log_prior)_y."""
    batch, classes, height, width = logits.shape
    total = logits.new_zeros(())
    divisor = 0.0
    for b in range(batch):
        for i in range(height):
            for j in range(width):
                label = int(labels[b, i, j])
                ignored = label == ignore_index
                class_w = 1.0 if class_weight is None or ignored else \
                    class_weight[label]
                if not ignored:
                    adjusted = logits[b, :, i, j] + log_prior
                    term = -torch.log_softmax(adjusted, 0)[label] * class_w
                    if pixel_weight is not None:
                        term = term * pixel_weight[b, i, j]
                    total = total + term
                if class_weight is None:
                    divisor += 0.0 if (ignored and avg_non_ignore) else 1.0
                else:
                    divisor += 0.0 if (ignored and avg_non_ignore) else \
                        (class_weight[label] if not ignored else 0.0)
    return total / (divisor + torch.finfo(torch.float32).eps)


def make_inputs(seed=0, ignore_fraction=0.3):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 4, 3, 5, generator=generator) * 3
    labels = torch.randint(0, 4, (2, 3, 5), generator=generator)
    ignored = torch.rand(2, 3, 5, generator=generator) < ignore_fraction
    labels[ignored] = 255
    return logits, labels


def prior_cfg(**kwargs):
    return dict(type='ClassPrior', num_classes=4, counts=COUNTS, **kwargs)


def log_prior_of(tau=1.0):
    return MODELS.build(prior_cfg(tau=tau)).log_prior


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_values_and_gradients_match_naive(avg_non_ignore):
    logits, labels = make_inputs()
    loss_module = MODELS.build(
        dict(
            type='LogitAdjustedCELoss',
            prior=prior_cfg(),
            avg_non_ignore=avg_non_ignore,
            loss_weight=0.7))
    ours_input = logits.clone().requires_grad_()
    ours = loss_module(ours_input, labels, ignore_index=255)
    ours.backward()
    ref_input = logits.clone().requires_grad_()
    ref = 0.7 * naive_loss(
        ref_input, labels, log_prior_of(),
        avg_non_ignore=avg_non_ignore)
    ref.backward()
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours_input.grad, ref_input.grad)


def test_class_and_pixel_weights_match_naive():
    logits, labels = make_inputs(seed=1)
    class_weight = [1.0, 2.0, 0.5, 3.0]
    pixel_weight = torch.rand(2, 3, 5)
    loss_module = MODELS.build(
        dict(
            type='LogitAdjustedCELoss',
            prior=prior_cfg(tau=0.5),
            class_weight=class_weight,
            avg_non_ignore=True))
    ours_input = logits.clone().requires_grad_()
    ours = loss_module(
        ours_input, labels, weight=pixel_weight, ignore_index=255)
    ours.backward()
    ref_input = logits.clone().requires_grad_()
    ref = naive_loss(
        ref_input,
        labels,
        log_prior_of(tau=0.5),
        class_weight=class_weight,
        pixel_weight=pixel_weight,
        avg_non_ignore=True)
    ref.backward()
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(ours_input.grad, ref_input.grad)


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_without_prior_equals_mmseg_cross_entropy(avg_non_ignore):
    logits, labels = make_inputs(seed=2)
    ours = MODELS.build(
        dict(type='LogitAdjustedCELoss', avg_non_ignore=avg_non_ignore))
    theirs = MODELS.build(
        dict(type='CrossEntropyLoss', avg_non_ignore=avg_non_ignore))
    torch.testing.assert_close(
        ours(logits, labels, ignore_index=255),
        theirs(logits, labels, ignore_index=255))


@pytest.mark.parametrize('class_weight', [None, [1.0, 2.0, 0.5, 3.0]])
@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_all_ignored_batch_gives_zero_with_gradient(class_weight,
                                                    avg_non_ignore):
    logits = torch.randn(2, 4, 3, 5, requires_grad=True)
    labels = torch.full((2, 3, 5), 255, dtype=torch.long)
    loss_module = MODELS.build(
        dict(
            type='LogitAdjustedCELoss',
            prior=prior_cfg(),
            class_weight=class_weight,
            avg_non_ignore=avg_non_ignore))
    loss = loss_module(logits, labels, ignore_index=255)
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_prior_shifts_loss_towards_tail():
    """Equal logits: the adjusted loss is larger for a tail pixel."""
    loss_module = MODELS.build(
        dict(type='LogitAdjustedCELoss', prior=prior_cfg(),
             reduction='none'))
    logits = torch.zeros(1, 4, 1, 2)
    labels = torch.tensor([[[0, 3]]])
    per_pixel = loss_module(logits, labels)
    assert per_pixel.shape == (1, 1, 2)
    assert per_pixel[0, 0, 1] > per_pixel[0, 0, 0]
    probs = MODELS.build(prior_cfg()).probs
    torch.testing.assert_close(per_pixel[0, 0, 0], -torch.log(probs[0]))


def test_online_prior_counts_training_batches_only():
    loss_module = MODELS.build(
        dict(
            type='LogitAdjustedCELoss',
            prior=dict(type='ClassPrior', num_classes=4, mode='online')))
    logits, labels = make_inputs(seed=3)
    loss_module.train()
    loss_module(logits, labels, ignore_index=255)
    expected = torch.bincount(labels[labels != 255], minlength=4).double()
    torch.testing.assert_close(loss_module.prior.counts, expected)
    loss_module.eval()
    loss_module(logits, labels, ignore_index=255)
    torch.testing.assert_close(loss_module.prior.counts, expected)
    # The counts are a buffer: they travel with the checkpoint.
    assert 'prior.counts' in loss_module.state_dict()


def test_loss_name_and_decode_head_usage():
    loss_module = MODELS.build(dict(type='LogitAdjustedCELoss'))
    assert loss_module.loss_name == 'loss_la_ce'
    named = MODELS.build(
        dict(type='LogitAdjustedCELoss', loss_name='loss_tail'))
    assert named.loss_name.startswith('loss_')
    head = MODELS.build(
        dict(
            type='FCNHead',
            in_channels=4,
            channels=4,
            num_convs=1,
            num_classes=4,
            loss_decode=dict(type='LogitAdjustedCELoss', prior=prior_cfg())))
    logits = torch.randn(2, 4, 8, 8)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 4, (1, 16, 16)))
        samples.append(sample)
    losses = head.loss_by_feat(logits, samples)
    assert math.isfinite(losses['loss_la_ce'].item())


def test_wrong_prior_size_raises():
    loss_module = MODELS.build(
        dict(type='LogitAdjustedCELoss', prior=prior_cfg()))
    with pytest.raises(ValueError, match='classes'):
        loss_module(torch.randn(1, 3, 2, 2), torch.zeros(1, 2, 2).long())


def build_cls(cfg):
    return build('cls', cfg)


def cls_samples(labels):
    from mmpretrain.structures import DataSample
    return [
        DataSample(metainfo=dict(sample_idx=i)).set_gt_label(int(y))
        for i, y in enumerate(labels)
    ]


def test_classification_soft_targets_and_head_usage():
    """Soft targets agree with hard ones; in an mmpretrain head the loss
    takes its counts from ClassCountsHook and prediction has no prior."""
    logits = torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    loss = build_cls(
        dict(
            type='LogitAdjustedCELoss',
            num_classes=4,
            prior=dict(counts=CLS_COUNTS, smoothing=0.0)))
    # (the values: test_loss_is_cross_entropy_of_prior_adjusted_logits)
    assert loss(logits, F.one_hot(labels, 4).float()) == pytest.approx(
        loss(logits, labels).item(), rel=1e-5)
    # In an mmpretrain head, prediction has no prior.
    head = build_cls(
        dict(type='LinearClsHead', num_classes=4, in_channels=8,
             loss=dict(type='LogitAdjustedCELoss', num_classes=4)))
    assert head.loss_module.requires_class_counts
    head.loss_module.set_class_counts(CLS_COUNTS)
    assert not head.loss_module.requires_class_counts
    feats = (torch.randn(6, 8), )
    assert 'loss' in head.loss(feats, cls_samples(labels))
    pred = head.predict(feats)[0].pred_score
    assert torch.allclose(pred, head(feats)[0].softmax(0))
