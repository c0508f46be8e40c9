"""GMLClsHead: the GML head of the classification adapter."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...cls_builders import head_cfg, samples


def test_gml_head_without_contrast_is_la_cosine_ce():
    head = MODELS.build(head_cfg(loss_gml=dict(con_weight=0.0)))
    assert head.contrast is None
    feats = (torch.randn(6, 64), )
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    losses = head.loss(feats, samples(labels))
    cos = F.normalize(feats[0], dim=1) @ F.normalize(
        head.fc.weight, dim=1).t()
    expected = F.cross_entropy(cos * 30 + head.prior.log_prior, labels)
    assert set(losses) == {'loss_sup'}
    assert losses['loss_sup'].item() == pytest.approx(expected.item(), 1e-5)
    # prediction: balanced posterior, optionally with a post-hoc tau
    pred = head.predict(feats)
    assert torch.allclose(pred[0].pred_score, (cos[0] * 30).softmax(0),
                          atol=1e-6)
    head.posthoc_tau = 1.0
    pred = head.predict(feats)
    adjusted = cos[0] * 30 - head.prior.probs.log()
    assert torch.allclose(pred[0].pred_score, adjusted.softmax(0), atol=1e-6)
