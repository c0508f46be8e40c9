"""ClassWeightedCELoss and ClassPrior.class_weights: the re-weighting
baseline, its weights from the prior (mean 1 over the classes or under the
prior), safe with ignored pixels."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmseg.registry import MODELS as SEG_MODELS

import mil_seg  # noqa: F401  (registration)
from mil_seg.gml import ClassPrior
from mil_seg.losses import ClassWeightedCELoss
from mil_seg.launch import UserError

COUNTS = [800.0, 150.0, 40.0, 10.0]
IGNORE = 255


def pixel_batch(seed=0):
    torch.manual_seed(seed)
    logits = torch.randn(2, 4, 6, 5, requires_grad=True)
    labels = torch.randint(0, 4, (2, 6, 5))
    labels[0, :2] = IGNORE
    labels[1, :, 0] = IGNORE
    return logits, labels


@pytest.mark.parametrize('exponent', [1.0, 0.5])
def test_weights_are_powers_of_the_inverse_prior_with_mean_one(exponent):
    prior = ClassPrior(counts=COUNTS, smoothing=0.0)
    weights = prior.class_weights(exponent)
    probs = torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    expected = probs.pow(-exponent)
    torch.testing.assert_close(weights, (expected / expected.mean()).float())
    assert weights.mean().item() == pytest.approx(1.0)


def test_effective_number_weights():
    beta = 0.99
    prior = ClassPrior(counts=COUNTS + [0.0], smoothing=0.0)
    counts = torch.tensor(COUNTS + [1.0], dtype=torch.float64)
    expected = (1 - beta) / (1 - beta**counts)
    torch.testing.assert_close(
        prior.class_weights(beta=beta), (expected / expected.mean()).float())
    with pytest.raises(UserError, match=r'beta must be in \[0, 1\)'):
        prior.class_weights(beta=1.0)


def test_empty_prior_and_exponent_zero_give_uniform_weights():
    assert torch.equal(
        ClassPrior(num_classes=3).class_weights(), torch.ones(3))
    assert torch.equal(
        ClassPrior(counts=COUNTS).class_weights(0.0), torch.ones(4))


@pytest.mark.parametrize('exponent', [1.0, 0.5, 0.25])
def test_prior_normalised_weights_have_mean_one_under_the_prior(exponent):
    prior = ClassPrior(counts=COUNTS)  # smoothed: pi is the prior's probs
    weights = prior.class_weights(exponent, normalize='prior')
    assert (prior.probs_float64 * weights.double()).sum().item() == \
        pytest.approx(1.0, rel=1e-6)
    # today's weights times one factor
    ratio = weights / prior.class_weights(exponent)
    torch.testing.assert_close(ratio, ratio[:1].expand(4))


def test_effective_number_weights_normalise_under_the_prior_too():
    prior = ClassPrior(counts=COUNTS, smoothing=0.0)
    weights = prior.class_weights(beta=0.99, normalize='prior')
    probs = torch.tensor(COUNTS, dtype=torch.float64) / sum(COUNTS)
    assert (probs * weights.double()).sum().item() == pytest.approx(1.0)


def test_classes_normalisation_is_the_default_and_checked():
    prior = ClassPrior(counts=COUNTS)
    for exponent in (1.0, 0.5):
        assert torch.equal(prior.class_weights(exponent),
                           prior.class_weights(exponent, normalize='classes'))
    assert torch.equal(ClassPrior(num_classes=3).class_weights(
        normalize='prior'), torch.ones(3))
    with pytest.raises(UserError, match='normalize must be one of'):
        prior.class_weights(normalize='pixels')
    with pytest.raises(UserError, match='normalize must be one of'):
        ClassWeightedCELoss(prior=dict(counts=COUNTS), normalize='pixels')


def cls_head_loss(logits, labels, normalize, exponent=1.0):
    """The loss as MMPretrain's ClsHead computes it: the weighted sum over
    the batch size (its ``avg_factor``). Built in MMPretrain's scope,
    whatever scope an earlier test of the process left as the default."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = CLS_MODELS.build(
            dict(type='ClsHead',
                 loss=dict(type='ClassWeightedCELoss',
                           prior=dict(counts=COUNTS, smoothing=0.0),
                           exponent=exponent,
                           normalize=normalize)))
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return head.loss((logits, ), samples)['loss']


def test_prior_normalised_loss_has_the_scale_of_ce_where_it_matters():
    """A batch whose label histogram is the prior, each sample's loss the
    same (zero logits): through ClsHead the prior-normalised loss is CE's;
    weights of mean 1 over the classes scale it by their mean under the
    prior (far from 1 here, so the check can fail)."""
    labels = torch.repeat_interleave(torch.arange(4),
                                     torch.tensor([80, 15, 4, 1]))
    logits = torch.zeros(len(labels), 4)
    ce = F.cross_entropy(logits, labels)  # log 4
    prior = ClassPrior(counts=COUNTS, smoothing=0.0)
    prior_mean = (prior.probs * prior.class_weights()).sum()
    assert prior_mean.item() < 0.5
    torch.testing.assert_close(cls_head_loss(logits, labels, 'prior'), ce)
    torch.testing.assert_close(cls_head_loss(logits, labels, 'classes'),
                               ce * prior_mean)


def test_weighted_mean_is_the_same_loss_with_either_normalisation():
    """Without avg_factor (MMSegmentation's decode heads pass none) the
    loss divides by the summed weights of the labels: the scale cancels."""
    logits, labels = pixel_batch(3)
    losses = [
        ClassWeightedCELoss(prior=dict(counts=COUNTS),
                            exponent=0.5,
                            normalize=normalize)(logits,
                                                 labels,
                                                 ignore_index=IGNORE)
        for normalize in ('classes', 'prior')
    ]
    torch.testing.assert_close(losses[0], losses[1])


def test_sample_average_divides_by_the_pixels_as_mmseg_does():
    """average='samples': the weighted sum over the non-ignored pixels'
    count (MMSegmentation's CrossEntropyLoss with class_weight); with
    prior-normalised weights a batch whose labels follow the prior, every
    pixel's loss the same, gets CE's loss, and with the classes' mean 1 it
    does not."""
    logits, labels = pixel_batch(4)
    loss_fn = ClassWeightedCELoss(prior=dict(counts=COUNTS, smoothing=0.0),
                                  exponent=0.5, average='samples')
    weights = loss_fn.prior.class_weights(0.5)
    valid = labels != IGNORE
    per_pixel = F.cross_entropy(logits, labels, ignore_index=IGNORE,
                                reduction='none')[valid]
    expected = (weights[labels[valid]] * per_pixel).sum() / valid.sum()
    torch.testing.assert_close(loss_fn(logits, labels, ignore_index=IGNORE),
                               expected)

    labels = torch.repeat_interleave(torch.arange(4), torch.tensor(
        [80, 15, 4, 1])).view(1, 10, 10)
    logits = torch.zeros(1, 4, 10, 10)
    ce = F.cross_entropy(logits, labels)
    losses = {normalize: ClassWeightedCELoss(
        prior=dict(counts=COUNTS, smoothing=0.0), normalize=normalize,
        average='samples')(logits, labels) for normalize in ('prior',
                                                             'classes')}
    torch.testing.assert_close(losses['prior'], ce)
    assert losses['classes'].item() < 0.5 * ce.item()
    with pytest.raises(UserError, match='average must be one of'):
        ClassWeightedCELoss(prior=dict(counts=COUNTS), average='pixels')


def test_loss_is_pytorch_weighted_mean_with_ignored_pixels():
    logits, labels = pixel_batch()
    loss_fn = ClassWeightedCELoss(prior=dict(counts=COUNTS, smoothing=0.0))
    loss = loss_fn(logits, labels, ignore_index=IGNORE)
    weights = loss_fn.prior.class_weights()
    expected = F.cross_entropy(
        logits, labels, weight=weights, ignore_index=IGNORE)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_uniform_weights_equal_cross_entropy():
    logits, labels = pixel_batch(1)
    loss = ClassWeightedCELoss(prior=dict(counts=COUNTS), exponent=0.0)(
        logits, labels, ignore_index=IGNORE)
    torch.testing.assert_close(
        loss, F.cross_entropy(logits, labels, ignore_index=IGNORE))


def test_only_ignored_pixels_give_zero_with_a_gradient():
    logits = torch.randn(1, 4, 3, 3, requires_grad=True)
    labels = torch.full((1, 3, 3), IGNORE)
    loss = ClassWeightedCELoss(prior=dict(counts=COUNTS))(
        logits, labels, ignore_index=IGNORE)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_rare_classes_weigh_more_than_with_cross_entropy():
    """The gradient on a tail pixel grows by its class weight relative to a
    head pixel's."""
    logits = torch.zeros(2, 4, requires_grad=True)
    labels = torch.tensor([0, 3])
    ClassWeightedCELoss(prior=dict(counts=COUNTS, smoothing=0.0))(
        logits, labels).backward()
    head, tail = logits.grad[0, 0].abs(), logits.grad[1, 3].abs()
    assert (tail / head).item() == pytest.approx(80.0, rel=1e-4)


def test_online_prior_weights_follow_the_counts():
    loss_fn = ClassWeightedCELoss(prior=dict(type='ClassPrior',
                                             num_classes=4, mode='online'))
    logits, labels = pixel_batch(2)
    loss_fn.train()
    loss_fn(logits, labels, ignore_index=IGNORE)
    counts = torch.bincount(labels[labels != IGNORE], minlength=4)
    assert torch.equal(loss_fn.prior.counts.long(), counts)


def test_registered_in_both_toolboxes_and_needs_statistics():
    for registry in (SEG_MODELS, CLS_MODELS):
        loss = registry.build(
            dict(type='ClassWeightedCELoss', num_classes=4, exponent=0.5))
        assert isinstance(loss, ClassWeightedCELoss)
        assert loss.requires_class_counts  # ClassCountsHook fills it
    with pytest.raises(UserError, match='needs its class statistics'):
        ClassWeightedCELoss()
