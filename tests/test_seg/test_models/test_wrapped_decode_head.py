"""WrappedDecodeHead: what a wrapping head (GMLHead, RegionRebalanceHead)
takes over from its decoder, strips from it, and how a plain mmseg head's
checkpoint loads into it."""
import pytest
import torch
import torch.nn as nn
from mmengine.runner.checkpoint import load_state_dict
from mmseg.registry import MODELS

import mil_seg  # noqa: F401
from mil_seg.seg.models import (GMLHead, RegionRebalanceHead,
                                WrappedDecodeHead)

DECODERS = ['aspp', 'uper', 'segformer', 'fcn']
PRIOR = dict(type='ClassPrior', counts=[4500, 2500, 1200, 600, 200])


def wrapping(kind, decoder, **kwargs):
    """A GMLHead or RegionRebalanceHead config wrapping ``decoder``."""
    if kind == 'gml':
        return dict(type='GMLHead', decoder=decoder, prior=PRIOR, **kwargs)
    return dict(type='RegionRebalanceHead', decoder=decoder, prior=PRIOR,
                **kwargs)


def test_takes_over_channels_inputs_and_classes_without_a_loss():
    decoder = MODELS.build(dict(
        type='FCNHead', in_channels=16, channels=8, num_classes=5,
        in_index=2, dropout_ratio=0.3, ignore_index=7, align_corners=True,
        num_convs=1, concat_input=False))
    args = WrappedDecodeHead.head_args(decoder)
    assert args == dict(in_channels=16, channels=8, num_classes=5,
                        dropout_ratio=0.3, in_index=2, input_transform=None,
                        loss_decode=[], ignore_index=7, align_corners=True)


def test_resize_concat_inputs_are_summed_once():
    decoder = MODELS.build(dict(
        type='FCNHead', in_channels=[4, 6], channels=8, num_classes=3,
        in_index=[0, 1], input_transform='resize_concat', num_convs=1,
        concat_input=False))
    assert decoder.in_channels == 10  # mmseg's own sum
    args = WrappedDecodeHead.head_args(decoder)
    assert args['in_channels'] == [10, 0]
    head = MODELS.build(dict(
        type='RegionRebalanceHead',
        decoder=dict(type='FCNHead', in_channels=[4, 6], channels=8,
                     num_classes=3, in_index=[0, 1],
                     input_transform='resize_concat', num_convs=1,
                     concat_input=False),
        prior=dict(type='ClassPrior', counts=[3, 2, 1])))
    assert head.in_channels == 10


@pytest.mark.parametrize('kind', ['gml', 'rr'])
def test_both_heads_strip_the_wrapped_classifier(builders, kind):
    """The decoder keeps no classifier, dropout, loss or sampler of its
    own: its forward returns the B x F x h x w features that fed cls_seg."""
    decoder_cfg = dict(builders.tiny_decoders()['fcn'],
                       sampler=dict(type='OHEMPixelSampler', thresh=0.7))
    head = MODELS.build(wrapping(kind, decoder_cfg))
    assert isinstance(head, WrappedDecodeHead)
    assert isinstance(head, GMLHead if kind == 'gml' else RegionRebalanceHead)
    decoder = head.decoder
    assert isinstance(decoder.conv_seg, nn.Identity)
    assert decoder.dropout is None and decoder.sampler is None
    assert len(decoder.loss_decode) == 0
    assert not any(key.startswith('conv_seg.')
                   for key in decoder.state_dict())
    inputs = builders.backbone_features()
    features = decoder(inputs)
    assert features.shape[1] == decoder.channels == head.channels
    if kind == 'rr':  # the pixel path stays the decoder's own
        assert head.sampler is not None and head.sampler.context is head
        assert head.loss_decode.loss_name == 'loss_ce'
    else:  # GML has no mmseg loss of its own: loss_gml
        assert head.sampler is None and len(head.loss_decode) == 0


@pytest.mark.parametrize('kind', ['gml', 'rr'])
@pytest.mark.parametrize('decoder', DECODERS)
def test_plain_mmseg_checkpoint_loads_into_the_wrapped_decoder(
        builders, kind, decoder):
    """``load_from`` a model trained with the plain mmseg head: with the
    linear classifier the wrapping model then predicts exactly as it did."""
    plain_cfg = builders.segmentor(
        dict(builders.tiny_decoders()[decoder],
             loss_decode=dict(type='CrossEntropyLoss')),
        dilated=True)
    plain = builders.build_initialised(plain_cfg, seed=1)
    plain.eval()
    extra = dict(classifier='linear') if kind == 'gml' else dict()
    wrapped = MODELS.build(builders.segmentor(
        wrapping(kind, builders.tiny_decoders()[decoder], **extra),
        dilated=True))
    wrapped.eval()
    load_state_dict(wrapped, plain.state_dict())
    plain_head = {
        k: v for k, v in plain.decode_head.state_dict().items()
        if not k.startswith('conv_seg.')
    }
    decoder_state = wrapped.decode_head.decoder.state_dict()
    assert set(decoder_state) == set(plain_head)
    for key, value in plain_head.items():
        assert torch.equal(decoder_state[key], value), key
    for key in ('weight', 'bias'):
        assert torch.equal(
            getattr(wrapped.decode_head.conv_seg, key),
            getattr(plain.decode_head.conv_seg, key))
    images = torch.randn(2, 3, builders.IMAGE_SIZE, builders.IMAGE_SIZE)
    with torch.no_grad():
        torch.testing.assert_close(
            wrapped(images, mode='tensor'), plain(images, mode='tensor'))
    # A wrapping head's own checkpoint loads as it is (nothing moves twice).
    again = MODELS.build(builders.segmentor(
        wrapping(kind, builders.tiny_decoders()[decoder], **extra),
        dilated=True))
    again.load_state_dict(wrapped.state_dict())
    for key, value in wrapped.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


@pytest.mark.parametrize('decoder', DECODERS)
def test_cosine_classifier_takes_the_plain_weight(builders, decoder):
    """The cosine classifier keeps conv_seg's weight; its bias is unused."""
    plain = builders.build_initialised(builders.segmentor(
        dict(builders.tiny_decoders()[decoder],
             loss_decode=dict(type='CrossEntropyLoss')),
        dilated=True), seed=1)
    cosine = MODELS.build(builders.segmentor(
        builders.gml_head(builders.tiny_decoders()[decoder]), dilated=True))
    load_state_dict(cosine, plain.state_dict())
    assert torch.equal(cosine.decode_head.conv_seg.weight,
                       plain.decode_head.conv_seg.weight)


def test_cascade_and_one_logit_checks_name_the_other_wrapper(builders):
    ocr = builders.ocr_cascade_heads()[1]['decoder']
    fcn = builders.tiny_decoders()['fcn']
    with pytest.raises(TypeError, match='wrap it with GMLCascadeHead'):
        MODELS.build(wrapping('gml', ocr))
    with pytest.raises(TypeError, match='wrap it with GMLHead'):
        MODELS.build(dict(type='GMLCascadeHead', decoder=fcn, prior=PRIOR))
    with pytest.raises(TypeError, match='single-stage heads only.$'):
        MODELS.build(wrapping('rr', ocr))
    sigmoid = dict(fcn, num_classes=2, out_channels=1,
                   loss_decode=dict(type='CrossEntropyLoss',
                                    use_sigmoid=True))
    for kind in ('gml', 'rr'):
        with pytest.raises(ValueError, match='one logit per class'):
            MODELS.build(dict(wrapping(kind, sigmoid),
                              prior=dict(type='ClassPrior', counts=[1, 2])))
    with pytest.raises(TypeError, match='BaseDecodeHead'):
        MODELS.build(wrapping('gml', dict(type='ResNetV1c', depth=18)))
