"""BLVLoss: class-scaled logit noise in training (Wang et al., CVPR 2023),
its noise scale checked against the authors' current formula; sigma 0 and
evaluation are CE."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS as SEG_MODELS

import mil_seg  # noqa: F401  (registration)
from mil_seg.gml.prior import SMOOTHING_FRACTION
from mil_seg.losses import BLVLoss
from mil_seg.launch import UserError

COUNTS = [1000.0, 100.0, 10.0, 1.0]
IGNORE = 255


def batch(seed=0):
    torch.manual_seed(seed)
    logits = torch.randn(2, 4, 5, 6, requires_grad=True)
    labels = torch.randint(0, 4, (2, 5, 6))
    labels[0, 0] = IGNORE
    return logits, labels


# A five-class pixel prior, and the noise scale written independently from
# the authors' current code (grantword8/BLV e08cc6c, fully_sup/mmseg/models/
# losses/blv_loss.py): f = log(sum(n)) - log(n), then f / max(f).
FIVE = np.array([6000.0, 2500.0, 1000.0, 400.0, 100.0])


def authors_scale(counts):
    f = np.log(counts.sum()) - np.log(counts)
    return f / f.max()


def first_commit_scale(counts):
    """Their first commit's (494d428), which ours followed before."""
    f = np.log(counts).max() - np.log(counts)
    return f / f.max()


def test_noise_scale_is_the_authors_fixed_formula():
    loss = BLVLoss(prior=dict(counts=FIVE.tolist(), smoothing=0.0))
    expected = torch.from_numpy(authors_scale(FIVE)).float()
    torch.testing.assert_close(loss.noise_scale(), expected)
    # the most frequent class is perturbed too, the rarest the most
    assert loss.noise_scale()[0] > 0 and loss.noise_scale()[-1] == 1.0


def test_noise_scale_differs_from_the_first_commit():
    """So that the test above can fail: the old formula is measurably off."""
    ours = BLVLoss(prior=dict(counts=FIVE.tolist(), smoothing=0.0))
    old = torch.from_numpy(first_commit_scale(FIVE)).float()
    assert (ours.noise_scale() - old).abs().max() > 0.05


def test_smoothed_prior_is_the_formula_on_the_smoothed_counts():
    loss = BLVLoss(prior=dict(counts=FIVE.tolist()))  # smoothing 1
    pseudo = SMOOTHING_FRACTION * FIVE.sum() / len(FIVE)
    torch.testing.assert_close(
        loss.noise_scale(),
        torch.from_numpy(authors_scale(FIVE + pseudo)).float())


def test_training_loss_is_ce_of_the_perturbed_logits():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 4, 6, requires_grad=True)
    labels = torch.randint(0, 5, (2, 4, 6))
    labels[0, 0] = IGNORE
    loss_fn = BLVLoss(prior=dict(counts=FIVE.tolist(), smoothing=0.0),
                      sigma=4.0)
    loss_fn.train()
    torch.manual_seed(7)
    loss = loss_fn(logits, labels, ignore_index=IGNORE)
    torch.manual_seed(7)
    noise = (torch.randn(logits.shape) * 4.0).clamp(-1, 1).abs()
    scale = torch.from_numpy(authors_scale(FIVE)).float().view(1, 5, 1, 1)
    expected = F.cross_entropy(
        logits + noise * scale, labels, ignore_index=IGNORE)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_sigma_zero_and_evaluation_are_cross_entropy():
    logits, labels = batch(1)
    expected = F.cross_entropy(logits, labels, ignore_index=IGNORE)
    for sigma, training in ((0.0, True), (4.0, False)):
        loss_fn = BLVLoss(prior=dict(counts=COUNTS), sigma=sigma)
        loss_fn.train(training)
        torch.testing.assert_close(
            loss_fn(logits, labels, ignore_index=IGNORE), expected)


def test_noise_raises_rare_logits_most():
    loss_fn = BLVLoss(prior=dict(counts=COUNTS, smoothing=0.0))
    perturbed = loss_fn.perturb(torch.zeros(256, 4))
    assert (perturbed >= 0).all() and (perturbed[:, 3] <= 1).all()
    assert perturbed[:, 3].mean() > perturbed[:, 2].mean() > \
        perturbed[:, 1].mean() > perturbed[:, 0].mean() > 0


def test_registered_in_both_toolboxes_and_checks_its_arguments():
    for registry in (SEG_MODELS, CLS_MODELS):
        assert isinstance(
            registry.build(dict(type='BLVLoss', num_classes=4)), BLVLoss)
    with pytest.raises(UserError, match='sigma must be >= 0'):
        BLVLoss(num_classes=4, sigma=-1.0)
    with pytest.raises(UserError, match='needs its class statistics'):
        BLVLoss()
