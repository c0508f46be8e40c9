"""PixelSeesawLoss (Wang et al., CVPR 2021, on pixels): a direct N x C
reference, both factors off is CE, cumulative counts in the prior's
buffers."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS as SEG_MODELS

import mil_seg  # noqa: F401  (registration)
from mil_seg.losses import PixelSeesawLoss
from mil_seg.launch import UserError

IGNORE = 255


def pixel_batch(seed=0):
    torch.manual_seed(seed)
    logits = (torch.randn(2, 4, 5, 3) * 3).requires_grad_()
    labels = torch.tensor([0] * 20 + [1] * 6 + [2] * 3 + [3]).reshape(
        2, 5, 3)
    labels = labels.flatten()[torch.randperm(30)].reshape(2, 5, 3)
    labels[0, 0, 0] = IGNORE
    return logits, labels


def reference(logits, labels, counts, p, q):
    """mmdet's formulation on the flattened valid pixels."""
    scores = logits.permute(0, 2, 3, 1).reshape(-1, 4)
    target = labels.reshape(-1)
    keep = target != IGNORE
    scores, target = scores[keep], target[keep]
    counts = counts.clamp_min(1)
    ratio = counts[None, :] / counts[:, None]
    weights = torch.where(ratio < 1, ratio.pow(p), torch.ones_like(ratio))
    weights = weights[target]
    probs = F.softmax(scores.detach(), 1)
    own = probs.gather(1, target[:, None])
    score_ratio = probs / own
    weights = weights * torch.where(score_ratio > 1, score_ratio.pow(q),
                                    torch.ones_like(score_ratio))
    onehot = F.one_hot(target, 4).float()
    adjusted = scores + weights.log() * (1 - onehot)
    return F.cross_entropy(adjusted, target)


def test_training_loss_matches_the_reference_and_counts_pixels():
    logits, labels = pixel_batch()
    loss_fn = PixelSeesawLoss(num_classes=4, p=0.8, q=2.0).train()
    loss = loss_fn(logits, labels, ignore_index=IGNORE)
    counts = torch.bincount(labels[labels != IGNORE], minlength=4).float()
    assert torch.equal(loss_fn.prior.counts.float(), counts)
    torch.testing.assert_close(loss,
                               reference(logits, labels, counts, 0.8, 2.0))
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    # the counts are cumulative (and in the state dict: resume continues)
    loss_fn(logits, labels, ignore_index=IGNORE)
    assert torch.equal(loss_fn.prior.counts.float(), 2 * counts)
    assert 'prior.counts' in loss_fn.state_dict()


@pytest.mark.parametrize('p, q', [(0.8, 0.0), (0.0, 2.0)])
def test_each_factor_alone(p, q):
    logits, labels = pixel_batch(1)
    loss_fn = PixelSeesawLoss(num_classes=4, p=p, q=q).train()
    loss = loss_fn(logits, labels, ignore_index=IGNORE)
    counts = torch.bincount(labels[labels != IGNORE], minlength=4).float()
    torch.testing.assert_close(loss, reference(logits, labels, counts, p, q))


def test_both_factors_off_is_cross_entropy():
    logits, labels = pixel_batch(2)
    loss = PixelSeesawLoss(num_classes=4, p=0.0, q=0.0).train()(
        logits, labels, ignore_index=IGNORE)
    torch.testing.assert_close(
        loss, F.cross_entropy(logits, labels, ignore_index=IGNORE))


def test_image_labels_registries_and_bad_input():
    logits = torch.randn(6, 4)
    labels = torch.tensor([0, 0, 0, 1, 2, 3])
    for registry in (SEG_MODELS, CLS_MODELS):
        loss_fn = registry.build(dict(type='PixelSeesawLoss', num_classes=4))
        assert isinstance(loss_fn, PixelSeesawLoss)
        assert not loss_fn.requires_class_counts
        assert torch.isfinite(loss_fn.train()(logits, labels))
    with pytest.raises(UserError, match='p and q must be >= 0'):
        PixelSeesawLoss(num_classes=4, p=-1.0)
    with pytest.raises(UserError, match='needs hard labels'):
        PixelSeesawLoss(num_classes=4)(logits, F.softmax(logits, 1))
