"""``mil_seg.compat.focal_loss``: MMSegmentation's ``FocalLoss`` on the CPU
is the sigmoid focal loss, as its GPU branch computes it, and the shim is
needed exactly where mmseg's own CPU branch is wrong."""
import inspect
import textwrap

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.models.losses import focal_loss as mmseg_focal_loss
from mmseg.registry import MODELS

from mil_seg import compat
from mil_seg.compat import focal_loss

ORIGINAL_FORWARD = mmseg_focal_loss.FocalLoss.forward.__mil_seg_original__
# The lines of mmseg's CPU branch that keep the wrong one-hot columns
# (issue 3249 and its one-class twin) and their fixes.
FIXES = {
    ' target = target[:, num_classes]\n':
    ' target = target[:, :num_classes]\n',
    ' target = target[:, 1]\n': ' target = target[:, 1:]\n',
}


def reference_focal_loss(logits, labels, gamma, alpha, class_weight=None,
                         weight=None, ignore_index=255):
    """Sigmoid focal loss per element (B, C, H, W), one binary problem per
    class: ``-alpha (1 - p)^gamma log p`` for the pixel's class,
    ``-(1 - alpha) p^gamma log(1 - p)`` for every other; ignored pixels 0,
    times the class's weight and the pixel's weight."""
    classes = torch.arange(logits.shape[1]).view(1, -1, 1, 1)
    positive = (labels.unsqueeze(1) == classes).to(logits.dtype)
    p = torch.sigmoid(logits)
    loss = -(positive * alpha * (1 - p)**gamma * torch.log(p) +
             (1 - positive) * (1 - alpha) * p**gamma * torch.log(1 - p))
    loss = loss * (labels != ignore_index).unsqueeze(1).to(logits.dtype)
    if class_weight is not None:
        loss = loss * logits.new_tensor(class_weight).view(1, -1, 1, 1)
    if weight is not None:
        loss = loss * weight.unsqueeze(1)
    return loss


def inputs(seed=0, num_classes=4):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, num_classes, 3, 5, generator=generator,
                         dtype=torch.float64) * 2
    labels = torch.randint(0, num_classes, (2, 3, 5), generator=generator)
    labels[0, 0, :3] = 255  # ignored pixels
    labels[1, 2, :num_classes] = torch.arange(num_classes)  # every class
    return logits, labels


def build(**kwargs):
    """MMSegmentation's FocalLoss, whatever default scope an earlier test
    of this process left (under 'mmpretrain' the name is MMPretrain's)."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(dict(type='FocalLoss', gamma=2.0, alpha=0.25,
                                 **kwargs))


@pytest.mark.parametrize('class_weight', [None, [0.5, 2.0, 1.0, 3.0]])
@pytest.mark.parametrize('reduction', ['none', 'mean', 'sum'])
def test_cpu_focal_loss_is_the_reference(reduction, class_weight):
    logits, labels = inputs()
    logits.requires_grad_(True)
    loss = build(reduction=reduction, class_weight=class_weight,
                 loss_weight=3.0)(logits, labels)
    expected = 3.0 * reference_focal_loss(logits, labels, 2.0, 0.25,
                                          class_weight)
    if reduction == 'mean':
        # mmseg averages over all N x C elements, ignored pixels included
        # (FocalLoss has no avg_non_ignore)
        expected = expected.sum() / expected.numel()
    elif reduction == 'sum':
        expected = expected.sum()
    assert loss.shape == expected.shape
    torch.testing.assert_close(loss, expected)
    grad, = torch.autograd.grad(loss.sum(), logits)
    expected_grad, = torch.autograd.grad(expected.sum(), logits)
    torch.testing.assert_close(grad, expected_grad)
    ignored = (labels == 255).unsqueeze(1).expand_as(grad)
    assert (grad[ignored] == 0).all() and (grad[~ignored] != 0).all()


def test_avg_factor_pixel_weights_and_overrides():
    logits, labels = inputs(seed=1)
    loss = build()
    weight = torch.rand(2, 3, 5, dtype=torch.float64)
    elements = reference_focal_loss(logits, labels, 2.0, 0.25, weight=weight)
    torch.testing.assert_close(
        loss(logits, labels, weight=weight.view(-1), avg_factor=7.0),
        elements.sum() / 7.0)
    torch.testing.assert_close(
        loss(logits, labels, weight=weight.view(-1),
             reduction_override='sum'), elements.sum())
    # another ignore_index: 255 is then a label outside the classes and
    # label 1 is ignored
    labels = labels.clamp(max=3)
    torch.testing.assert_close(
        loss(logits, labels, ignore_index=1, reduction_override='none'),
        reference_focal_loss(logits, labels, 2.0, 0.25, ignore_index=1))


def test_one_hot_targets_and_alpha_lists_as_the_gpu_branch():
    logits, labels = inputs(seed=2)
    labels = labels.clamp(max=3)
    loss = build(reduction='none')
    one_hot = torch.nn.functional.one_hot(labels, 4).permute(0, 3, 1, 2)
    torch.testing.assert_close(loss(logits, one_hot), loss(logits, labels))
    expected = loss(logits, labels)
    loss.alpha = [0.25] * 4
    torch.testing.assert_close(loss(logits, labels), expected)
    # a per-class alpha weighs each class's binary problem with its own
    loss.alpha = [0.1, 0.25, 0.5, 0.9]
    per_class = torch.cat([
        reference_focal_loss(logits, labels, 2.0, a)[:, c:c + 1]
        for c, a in enumerate(loss.alpha)
    ], 1)
    torch.testing.assert_close(loss(logits, labels), per_class)


def test_one_class_is_foreground_against_background():
    logits, labels = inputs(seed=3, num_classes=2)
    foreground = logits[:, 1:]
    loss = build(reduction='none')(foreground, labels)
    p = torch.sigmoid(foreground)
    positive = (labels == 1).unsqueeze(1).to(p.dtype)
    expected = -(positive * 0.25 * (1 - p)**2 * torch.log(p) +
                 (1 - positive) * 0.75 * p**2 * torch.log(1 - p))
    expected = expected * (labels != 255).unsqueeze(1)
    torch.testing.assert_close(loss, expected)


def test_mmseg_cpu_branch_fails_and_the_shim_is_needed():
    logits, labels = inputs()
    with pytest.raises(RuntimeError, match='must match the size'):
        ORIGINAL_FORWARD(build(), logits, labels)
    assert focal_loss.SHIM.needed() and focal_loss.focal_loss_cpu_path_broken()
    assert 'focal_loss_cpu' in compat.active_shims()
    assert focal_loss.SHIM in compat.SHIMS


def fixed_forward(*fixes):
    """mmseg's own forward with the given lines of its CPU branch fixed."""
    source = textwrap.dedent(inspect.getsource(ORIGINAL_FORWARD))
    for line in fixes:
        assert source.count(line) == 1, 'mmseg changed its CPU branch'
        source = source.replace(line, FIXES[line])
    namespace = {}
    exec(source, vars(mmseg_focal_loss), namespace)
    return namespace['forward']


def test_needed_exactly_where_the_cpu_branch_is_wrong():
    assert focal_loss.focal_loss_cpu_path_broken(ORIGINAL_FORWARD)
    # the fix issue 3249 proposes leaves one class (foreground) failing
    issue_fix, one_class_fix = FIXES
    assert focal_loss.focal_loss_cpu_path_broken(fixed_forward(issue_fix))
    assert focal_loss.focal_loss_cpu_path_broken(
        fixed_forward(one_class_fix))
    fixed = fixed_forward(issue_fix, one_class_fix)
    assert not focal_loss.focal_loss_cpu_path_broken(fixed)
    assert not focal_loss.focal_loss_cpu_path_broken(
        focal_loss.sigmoid_path_forward)

    def off_by_a_factor(self, *args, **kwargs):
        return 2 * focal_loss.sigmoid_path_forward(self, *args, **kwargs)

    assert focal_loss.focal_loss_cpu_path_broken(off_by_a_factor)
    # mmseg's pure-Python branch, once fixed, and the shim's agree
    loss = build(class_weight=[0.5, 2.0, 1.0, 3.0], reduction='none')
    logits, labels = inputs(seed=4)
    torch.testing.assert_close(fixed(loss, logits, labels),
                               loss(logits, labels))
    loss = build(reduction='none')
    logits, labels = inputs(seed=5, num_classes=2)
    torch.testing.assert_close(fixed(loss, logits[:, 1:], labels),
                               loss(logits[:, 1:], labels))


def test_kernel_is_kept_off_the_cpu():
    calls = []

    def kernel(*args):
        calls.append(args[0].device.type)
        return args[0]

    routed = focal_loss.kernel_on_any_device(kernel)
    logits, labels = torch.zeros(2, 3), torch.tensor([0, 3])
    torch.testing.assert_close(
        routed(logits, labels, 2.0, 0.25, None, 'none'),
        compat.sigmoid_focal_loss(logits, labels, 2.0, 0.25, None, 'none'))
    routed(logits.to('meta'), labels.to('meta'), 2.0, 0.25, None, 'none')
    assert calls == ['meta']
    without_ops = focal_loss.kernel_on_any_device(None)
    torch.testing.assert_close(without_ops(logits, labels),
                               compat.sigmoid_focal_loss(logits, labels))
    installed = mmseg_focal_loss._sigmoid_focal_loss
    assert installed.__mil_seg_kernel__ is not None
