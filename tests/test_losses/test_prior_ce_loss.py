"""The baselines on their neutral base: each module is its plain function
with the module's state, LA-CE with tau 0 is plain cross-entropy, and the
shared cross-entropy averages as the toolboxes do."""
import pytest
import torch
import torch.nn.functional as F

from mil_seg.gml import ClassPrior
from mil_seg.losses import (BLVLoss, ClassWeightedCELoss,
                            LogitAdjustedCELoss, PixelSeesawLoss,
                            PriorCELoss, blv_loss, class_weighted_ce_loss,
                            logit_adjusted_ce_loss, pixel_seesaw_loss,
                            prior_ce_loss)

COUNTS = [500.0, 200.0, 50.0, 10.0]
IGNORE = 255


def pixel_batch(seed=0):
    torch.manual_seed(seed)
    logits = (torch.randn(2, 4, 5, 3) * 2).requires_grad_()
    labels = torch.randint(0, 4, (2, 5, 3))
    labels[0, 0] = IGNORE
    return logits, labels


def module_and_function(name):
    prior = dict(counts=COUNTS, smoothing=0.0)
    if name == 'la_ce':
        module = LogitAdjustedCELoss(
            prior=dict(prior, tau=0.5), class_weight=[1.0, 2.0, 3.0, 4.0])
        return module, lambda x, y, **kw: logit_adjusted_ce_loss(
            x, y, module.prior, class_weight=module.class_weight, **kw)
    if name == 'cw_ce':
        module = ClassWeightedCELoss(prior=prior, exponent=0.5)
        return module, lambda x, y, **kw: class_weighted_ce_loss(
            x, y, module.prior, exponent=0.5, avg_non_ignore=True, **kw)
    if name == 'blv':
        module = BLVLoss(prior=prior, sigma=4.0)
        return module, lambda x, y, **kw: blv_loss(
            x, y, module.prior, sigma=4.0, **kw)
    module = PixelSeesawLoss(num_classes=4, p=0.8, q=2.0)
    counts = torch.bincount(pixel_batch()[1][pixel_batch()[1] != IGNORE],
                            minlength=4)
    return module, lambda x, y, **kw: pixel_seesaw_loss(
        x, y, counts, p=0.8, q=2.0, **kw)


@pytest.mark.parametrize('name', ['la_ce', 'cw_ce', 'blv', 'seesaw'])
@pytest.mark.parametrize('reduction', ['mean', 'none'])
def test_each_module_is_its_function(name, reduction):
    module, function = module_and_function(name)
    logits, labels = pixel_batch()
    torch.manual_seed(3)  # BLV's noise
    by_module = module.train()(
        logits, labels, ignore_index=IGNORE, reduction_override=reduction)
    torch.manual_seed(3)
    by_function = function(
        logits, labels, ignore_index=IGNORE, reduction=reduction)
    assert torch.equal(by_module, by_function)
    assert isinstance(module, PriorCELoss)
    assert module.loss_name.startswith('loss_')


def test_la_ce_with_tau_zero_or_no_prior_is_cross_entropy():
    logits, labels = pixel_batch(1)
    expected = F.cross_entropy(logits, labels, ignore_index=IGNORE)
    prior = ClassPrior(counts=COUNTS, tau=0.0)
    for loss in (logit_adjusted_ce_loss(
            logits, labels, prior, ignore_index=IGNORE, avg_non_ignore=True),
                 logit_adjusted_ce_loss(
                     logits, labels, ignore_index=IGNORE,
                     avg_non_ignore=True),
                 LogitAdjustedCELoss(prior=prior, avg_non_ignore=True)(
                     logits, labels, ignore_index=IGNORE)):
        torch.testing.assert_close(loss, expected)


def test_shared_cross_entropy_averages_as_the_toolboxes():
    logits, labels = pixel_batch(2)
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0])
    # class-weighted, over the non-ignored elements: PyTorch's weighted mean
    torch.testing.assert_close(
        prior_ce_loss(
            logits, labels, class_weight=weights, ignore_index=IGNORE,
            avg_non_ignore=True),
        F.cross_entropy(logits, labels, weight=weights, ignore_index=IGNORE))
    # over all elements (MMSegmentation's default) and over avg_factor
    total = F.cross_entropy(
        logits, labels, ignore_index=IGNORE, reduction='sum')
    torch.testing.assert_close(
        prior_ce_loss(logits, labels, ignore_index=IGNORE),
        total / labels.numel())
    torch.testing.assert_close(
        prior_ce_loss(logits, labels, ignore_index=IGNORE, avg_factor=7.0),
        total / (7.0 + torch.finfo(torch.float32).eps))
    # soft targets: the mean over samples of -sum(t * log p)
    targets = F.softmax(torch.randn(6, 4), 1)
    scores = torch.randn(6, 4)
    torch.testing.assert_close(
        prior_ce_loss(scores, targets),
        -(targets * F.log_softmax(scores, 1)).sum(1).mean())
