"""``mil_seg.compat.torch_load``: mmengine checkpoints load with torch's
``weights_only`` default, and nothing else is trusted."""
import pickle

import numpy as np
import pytest
import torch

from mil_seg.compat import torch_load
from .conftest import LOAD_COMPAT_STANDALONE, run_python


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
    if torch_load.torch_loads_weights_only_by_default():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(tmp_path / 'other.pth')
