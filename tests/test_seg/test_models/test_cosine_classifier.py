"""CosineClassifier2d: per-pixel ``scale * cos(feature, class weight)``."""
import pytest
import torch
import torch.nn.functional as F

from mil_seg.errors import UserError
from mil_seg.seg.models.cosine_classifier import CosineClassifier2d


def test_logits_are_scaled_cosines_bounded_by_the_scale():
    torch.manual_seed(0)
    classifier = CosineClassifier2d(6, 3, scale=16.0)
    assert classifier.weight.shape == (3, 6, 1, 1)  # like a 1x1 conv
    features = torch.randn(2, 6, 4, 5) * 100
    logits = classifier(features)
    assert logits.shape == (2, 3, 4, 5)
    weight = classifier.weight.flatten(1)
    pixel = features[1, :, 2, 3]
    expected = 16.0 * F.cosine_similarity(pixel[None], weight, dim=1)
    torch.testing.assert_close(logits[1, :, 2, 3], expected)
    assert logits.abs().max() <= 16.0 + 1e-4
    # the scale of features and weights does not matter
    with torch.no_grad():
        classifier.weight.mul_(1e3)
    torch.testing.assert_close(classifier(features * 1e-3), logits)
    assert 'scale=16.0' in repr(classifier)


def test_scale_must_be_positive():
    with pytest.raises(UserError, match='scale must be positive'):
        CosineClassifier2d(4, 2, scale=0.0)
