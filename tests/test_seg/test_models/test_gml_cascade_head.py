"""GMLCascadeHead: GML on the last stage of a cascade decoder (OCRNet)."""
import pytest
import torch
from mmseg.registry import MODELS


def test_ocr_cascade_trains_and_predicts(builders, labels):
    cfg = builders.segmentor(
        builders.ocr_cascade_heads(), dilated=True, cascade=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    images = torch.randn(2, 3, builders.IMAGE_SIZE, builders.IMAGE_SIZE)
    model.train()
    losses = model.loss(images, builders.make_data_samples(labels))
    builders.check_cascade_losses(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    with torch.no_grad():
        results = model.predict(images, builders.make_data_samples(labels))
    assert results[0].pred_sem_seg.data.shape == (1, builders.IMAGE_SIZE,
                                                  builders.IMAGE_SIZE)


def test_wrong_wrapper_for_cascade_decoder_is_refused(builders):
    ocr = builders.ocr_cascade_heads()[1]['decoder']
    with pytest.raises(TypeError, match='GMLCascadeHead'):
        MODELS.build(builders.gml_head(ocr))
    with pytest.raises(TypeError, match='GMLHead'):
        MODELS.build(
            builders.gml_head(
                builders.tiny_decoders()['fcn'], type='GMLCascadeHead'))
