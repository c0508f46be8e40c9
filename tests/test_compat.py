"""The compatibility layer: each shim applies only where it is needed."""
import os.path as osp
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import mil_seg
from mil_seg import compat

COMPAT_FILE = osp.join(osp.dirname(mil_seg.__file__), 'compat.py')


def run_python(*parts: str) -> str:
    """Run the code parts in a fresh interpreter; return stdout."""
    code = '\n'.join(textwrap.dedent(part) for part in parts)
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


LOAD_COMPAT_STANDALONE = f'''
import importlib.util
spec = importlib.util.spec_from_file_location('compat_under_test',
                                              {COMPAT_FILE!r})
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
'''


def test_point_sample_matches_bilinear_lookup():
    feature = torch.arange(16.).view(1, 1, 4, 4)
    # Pixel centres of (row 1, col 2) and (row 3, col 0) in [0, 1] coords.
    points = torch.tensor([[[2.5 / 4, 1.5 / 4], [0.5 / 4, 3.5 / 4]]])
    sampled = compat.point_sample(feature, points, align_corners=False)
    assert sampled.shape == (1, 1, 2)
    assert torch.allclose(sampled[0, 0], torch.tensor([6., 12.]))
    grid = points.view(1, 1, 2, 2)
    assert compat.point_sample(feature, grid).shape == (1, 1, 1, 2)


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
    loss = compat.sigmoid_focal_loss(logits, target, 2.0, 0.25, weight,
                                     'none')
    expected = reference_focal(logits, target, 2.0, 0.25, weight)
    assert torch.allclose(loss, expected)
    mean = compat.sigmoid_focal_loss(logits, target, 2.0, 0.25, weight)
    assert torch.allclose(mean, expected.sum() / 6)
    mean.backward()
    assert torch.isfinite(logits.grad).all()


def test_lite_branch_makes_mmseg_importable_and_refuses_compiled_ops():
    if compat.mmcv_has_compiled_ops():
        pytest.skip('full mmcv installed: the lite branch cannot apply here')
    out = run_python('''
        import mil_seg, mmseg.models
        from mil_seg import compat
        from mmcv.ops import point_sample, sigmoid_focal_loss, roi_align
        assert point_sample is compat.point_sample
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


def test_old_torch_branch_trusts_nothing_new():
    out = run_python('''
        import torch
        torch.__version__ = '2.1.2'
    ''', LOAD_COMPAT_STANDALONE, '''
        print('applied:', compat.apply(announce=lambda message: None))
    ''')
    assert 'torch_load_allowlist' not in out


class NotAllowed:
    """A class that no allow-list contains."""


def test_checkpoint_types_load_weights_only_and_others_stay_refused(tmp_path):
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer
    buffer = HistoryBuffer()
    buffer.update(1.5)
    checkpoint = dict(
        state_dict={'w': torch.ones(2)},
        meta=dict(
            message_hub=dict(log_scalars={'loss': buffer}),
            cfg=ConfigDict(a=1),
            seed=np.int64(3),
            ratio=np.float64(0.5),
            array=np.arange(3)))
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint, path)
    loaded = torch.load(path)  # the default: weights_only on torch >= 2.6
    assert loaded['meta']['message_hub']['log_scalars']['loss'].current(
    ) == 1.5
    assert loaded['meta']['seed'] == 3
    assert np.array_equal(loaded['meta']['array'], np.arange(3))

    torch.save({'evil': NotAllowed()}, tmp_path / 'other.pth')
    if compat.torch_loads_weights_only_by_default():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(tmp_path / 'other.pth')


def test_package_lookup_without_pkg_resources(tmp_path):
    config = tmp_path / 'child.py'
    config.write_text("_base_ = ['mmseg::_base_/models/fcn_r50-d8.py']\n"
                      "marker = 1\n")
    out = run_python(f'''
        import sys
        sys.modules['pkg_resources'] = None  # as with setuptools >= 81
        import mil_seg
        from mil_seg import compat
        from mmengine.config import Config
        cfg = Config.fromfile({str(config)!r})
        print('shims:', compat.active_shims())
        print('decode head:', cfg.model.decode_head.type)
    ''')
    assert 'package_lookup' in out
    assert 'decode head: FCNHead' in out


def test_importlib_lookup_agrees_with_mmengine():
    import mmseg
    assert compat.get_installed_path('mmsegmentation') == osp.dirname(
        mmseg.__file__)
    assert compat.is_installed('mmseg')
    assert not compat.is_installed('surely_not_a_package_mil_seg')
