"""wrapper_head_args: what a wrapping head takes over from its decoder."""
from mmseg.registry import MODELS

import mil_seg  # noqa: F401
from mil_seg.seg.models.wrapped_decoder import wrapper_head_args


def test_takes_over_channels_inputs_and_classes_without_a_loss():
    decoder = MODELS.build(dict(
        type='FCNHead', in_channels=16, channels=8, num_classes=5,
        in_index=2, dropout_ratio=0.3, ignore_index=7, align_corners=True,
        num_convs=1, concat_input=False))
    args = wrapper_head_args(decoder)
    assert args == dict(in_channels=16, channels=8, num_classes=5,
                        dropout_ratio=0.3, in_index=2, input_transform=None,
                        loss_decode=[], ignore_index=7, align_corners=True)


def test_resize_concat_inputs_are_summed_once():
    decoder = MODELS.build(dict(
        type='FCNHead', in_channels=[4, 6], channels=8, num_classes=3,
        in_index=[0, 1], input_transform='resize_concat', num_convs=1,
        concat_input=False))
    assert decoder.in_channels == 10  # mmseg's own sum
    args = wrapper_head_args(decoder)
    assert args['in_channels'] == [10, 0]
    head = MODELS.build(dict(
        type='RegionRebalanceHead',
        decoder=dict(type='FCNHead', in_channels=[4, 6], channels=8,
                     num_classes=3, in_index=[0, 1],
                     input_transform='resize_concat', num_convs=1,
                     concat_input=False),
        prior=dict(type='ClassPrior', counts=[3, 2, 1])))
    assert head.in_channels == 10
