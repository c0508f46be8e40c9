"""BLVLoss: class-scaled logit noise in training (Wang et al., CVPR 2023),
checked against a direct computation; sigma 0 and evaluation are CE."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS as SEG_MODELS

import mil_seg  # noqa: F401  (registration)
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


def test_noise_scale_is_the_normalised_log_frequency_gap():
    loss = BLVLoss(prior=dict(counts=COUNTS, smoothing=0.0))
    # log-count gaps to the most frequent class: 0, 1, 2, 3 decades
    torch.testing.assert_close(loss.noise_scale(),
                               torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]))


def test_training_loss_is_ce_of_the_perturbed_logits():
    logits, labels = batch()
    loss_fn = BLVLoss(prior=dict(counts=COUNTS, smoothing=0.0), sigma=4.0)
    loss_fn.train()
    torch.manual_seed(7)
    loss = loss_fn(logits, labels, ignore_index=IGNORE)
    torch.manual_seed(7)
    noise = (torch.randn(logits.shape) * 4.0).clamp(-1, 1).abs()
    scale = torch.tensor([0.0, 1 / 3, 2 / 3, 1.0]).view(1, 4, 1, 1)
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


def test_noise_raises_rare_logits_only():
    loss_fn = BLVLoss(prior=dict(counts=COUNTS, smoothing=0.0))
    perturbed = loss_fn.perturb(torch.zeros(256, 4))
    assert torch.equal(perturbed[:, 0], torch.zeros(256))  # most frequent
    assert (perturbed >= 0).all() and (perturbed[:, 3] <= 1).all()
    assert perturbed[:, 3].mean() > perturbed[:, 2].mean() > \
        perturbed[:, 1].mean() > 0


def test_registered_in_both_toolboxes_and_checks_its_arguments():
    for registry in (SEG_MODELS, CLS_MODELS):
        assert isinstance(
            registry.build(dict(type='BLVLoss', num_classes=4)), BLVLoss)
    with pytest.raises(UserError, match='sigma must be >= 0'):
        BLVLoss(num_classes=4, sigma=-1.0)
    with pytest.raises(UserError, match='needs its class statistics'):
        BLVLoss()
