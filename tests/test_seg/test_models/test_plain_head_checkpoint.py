"""plain_head_checkpoint: a plain mmseg head's weights load into the
decoder a GML head wraps."""
import pytest
import torch
from mmseg.registry import MODELS

DECODERS = ['aspp', 'uper', 'segformer', 'fcn']


@pytest.mark.parametrize('decoder', DECODERS)
def test_plain_mmseg_checkpoint_loads_into_the_wrapped_decoder(
        builders, decoder):
    """``load_from`` a model trained with the plain mmseg head: with the
    linear classifier the GML model then predicts exactly as it did."""
    from mmengine.runner.checkpoint import load_state_dict
    plain_cfg = builders.segmentor(
        dict(builders.tiny_decoders()[decoder],
             loss_decode=dict(type='CrossEntropyLoss')),
        dilated=True)
    plain = builders.build_initialised(plain_cfg, seed=1)
    plain.eval()
    gml = MODELS.build(builders.segmentor(
        builders.gml_head(builders.tiny_decoders()[decoder],
                          classifier='linear'),
        dilated=True))
    gml.eval()
    load_state_dict(gml, plain.state_dict())
    plain_head = {
        k: v for k, v in plain.decode_head.state_dict().items()
        if not k.startswith('conv_seg.')
    }
    decoder_state = gml.decode_head.decoder.state_dict()
    assert set(decoder_state) == set(plain_head)
    for key, value in plain_head.items():
        assert torch.equal(decoder_state[key], value), key
    images = torch.randn(2, 3, builders.IMAGE_SIZE, builders.IMAGE_SIZE)
    with torch.no_grad():
        torch.testing.assert_close(
            gml(images, mode='tensor'), plain(images, mode='tensor'))

    # The cosine classifier keeps conv_seg's weight; its bias is unused.
    cosine = MODELS.build(builders.segmentor(
        builders.gml_head(builders.tiny_decoders()[decoder]), dilated=True))
    load_state_dict(cosine, plain.state_dict())
    assert torch.equal(cosine.decode_head.conv_seg.weight,
                       plain.decode_head.conv_seg.weight)
    # A GML checkpoint loads as it is (nothing moves twice).
    again = MODELS.build(builders.segmentor(
        builders.gml_head(builders.tiny_decoders()[decoder]), dilated=True))
    again.load_state_dict(cosine.state_dict())
    for key, value in cosine.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key
