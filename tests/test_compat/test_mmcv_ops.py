"""``mil_seg.compat.mmcv_ops``: pure-PyTorch ``mmcv.ops`` where mmcv has no
compiled ops, and mmcv's own ops left alone where it has them."""
import pytest
import torch

from mil_seg.compat import mmcv_ops
from .conftest import LOAD_COMPAT_STANDALONE, run_python


def test_point_sample_matches_bilinear_lookup():
    feature = torch.arange(16.).view(1, 1, 4, 4)
    # Pixel centres of (row 1, col 2) and (row 3, col 0) in [0, 1] coords.
    points = torch.tensor([[[2.5 / 4, 1.5 / 4], [0.5 / 4, 3.5 / 4]]])
    sampled = mmcv_ops.point_sample(feature, points, align_corners=False)
    assert sampled.shape == (1, 1, 2)
    assert torch.allclose(sampled[0, 0], torch.tensor([6., 12.]))
    grid = points.view(1, 1, 2, 2)
    assert mmcv_ops.point_sample(feature, grid).shape == (1, 1, 1, 2)


def reference_focal(logits, target, gamma, alpha, weight):
    loss = torch.zeros_like(logits)
    for i in range(logits.shape[0]):
        for c in range(logits.shape[1]):
            p = torch.sigmoid(logits[i, c])
            if target[i] == c:
                value = -alpha * (1 - p)**gamma * torch.log(p)
            else:
                value = -(1 - alpha) * p**gamma * torch.log(1 - p)
            if weight is not None and target[i] < logits.shape[1]:
                value = value * weight[target[i]]
            loss[i, c] = value
    return loss


@pytest.mark.parametrize('use_weight', [False, True])
def test_sigmoid_focal_loss_matches_kernel_semantics(use_weight):
    torch.manual_seed(0)
    logits = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0, 1, 2, 3, 1, 0])  # 3 = background
    weight = torch.tensor([0.5, 2.0, 1.5],
                          dtype=torch.float64) if use_weight else None
    loss = mmcv_ops.sigmoid_focal_loss(logits, target, 2.0, 0.25, weight,
                                       'none')
    expected = reference_focal(logits, target, 2.0, 0.25, weight)
    assert torch.allclose(loss, expected)
    mean = mmcv_ops.sigmoid_focal_loss(logits, target, 2.0, 0.25, weight)
    assert torch.allclose(mean, expected.sum() / 6)
    mean.backward()
    assert torch.isfinite(logits.grad).all()


def test_lite_branch_makes_mmseg_importable_and_refuses_compiled_ops():
    if mmcv_ops.mmcv_has_compiled_ops():
        pytest.skip('full mmcv installed: the lite branch cannot apply here')
    out = run_python('''
        import mil_seg, mmseg.models
        from mil_seg import compat
        from mil_seg.compat import mmcv_ops
        from mmcv.ops import point_sample, sigmoid_focal_loss, roi_align
        assert point_sample is compat.point_sample is mmcv_ops.point_sample
        try:
            roi_align(None)
        except compat.MissingCompiledOpError as error:
            print('refused:', error)
        print('shims:', compat.active_shims())
    ''')
    assert 'refused: mmcv.ops.roi_align needs mmcv' in out
    assert 'install full mmcv' in out
    assert "'mmcv_ops'" in out


def test_full_mmcv_branch_leaves_mmcv_ops_alone():
    out = run_python('''
        import importlib.machinery, sys, types
        # Pretend the compiled extension exists, as with full mmcv.
        fake = types.ModuleType('mmcv._ext')
        fake.__spec__ = importlib.machinery.ModuleSpec('mmcv._ext', None)
        sys.modules['mmcv._ext'] = fake
    ''', LOAD_COMPAT_STANDALONE, '''
        applied = compat.apply(announce=lambda message: None)
        print('applied:', applied)
        print('ops shim:', getattr(sys.modules.get('mmcv.ops'),
                                   '__mil_seg_shim__', False))
    ''')
    assert "'mmcv_ops'" not in out
    assert 'ops shim: False' in out
