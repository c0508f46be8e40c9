"""CIFARResNet: the thin CIFAR ResNets (16-32-64 channels, 6n + 2
layers)."""
import pytest
import torch
from mmpretrain.registry import MODELS

from mil_seg.errors import UserError


@pytest.mark.parametrize('depth,blocks', [(20, 3), (32, 5), (56, 9)])
def test_depth_gives_6n_plus_2_layers_and_64_channels(depth, blocks):
    backbone = MODELS.build(dict(type='CIFARResNet', depth=depth))
    assert [len(getattr(backbone, name))
            for name in backbone.res_layers] == [blocks] * 3
    convs = [m for m in backbone.modules() if isinstance(m, torch.nn.Conv2d)
             and m.kernel_size == (3, 3)]
    assert len(convs) + 1 == depth  # 3x3 convs + the classifier
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert len(outs) == 1 and outs[0].shape == (2, 64, 8, 8)


def test_other_depths_name_the_choices():
    with pytest.raises(UserError, match=r'one of \[20, 32, 44, 56, 110\], '
                       'got 18'):
        MODELS.build(dict(type='CIFARResNet', depth=18))
