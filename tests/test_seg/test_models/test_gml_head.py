"""GMLHead: losses, classifiers, supported decoders, the queue's prior
layout, inference with and without the prior."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mil_seg.gml.functional import cross_entropy

DECODERS = ['aspp', 'uper', 'segformer', 'fcn']


def test_without_contrastive_term_equals_logit_adjusted_ce(builders, labels):
    head = builders.build_head(
        loss_gml=dict(con_weight=0.0), classifier_scale=16.0)
    head.train()
    assert head.contrast is None
    inputs = builders.backbone_features()
    samples = builders.make_data_samples(labels)
    torch.manual_seed(1)
    losses = head.loss(inputs, samples, dict())
    assert set(losses) == {'loss_sup', 'acc_seg'}

    # Reference: the same forward (same dropout draw), then a plain
    # cross-entropy on logits + log prior at label resolution.
    torch.manual_seed(1)
    features = head.decoder(inputs)
    features = head.dropout(features)
    cosine = F.conv2d(
        F.normalize(features, dim=1), F.normalize(head.conv_seg.weight,
                                                  dim=1))
    logits = F.interpolate(
        16.0 * cosine, size=labels.shape[1:], mode='bilinear',
        align_corners=False)
    counts = torch.tensor([4500, 2500, 1200, 600, 200], dtype=torch.float64)
    pseudo = 1e-3 * counts.sum() / 5
    log_prior = ((counts + pseudo) / (counts.sum() + 5 * pseudo)).log()
    expected = F.cross_entropy(
        logits + log_prior.float().view(1, -1, 1, 1), labels,
        ignore_index=255)
    torch.testing.assert_close(losses['loss_sup'], expected)
    torch.testing.assert_close(
        losses['loss_sup'],
        cross_entropy(head.prior.adjust(logits), labels, ignore_index=255))


def test_linear_classifier_supervised_term_is_logit_adjusted_ce(
        builders, labels):
    head = builders.build_head(classifier='linear')
    assert type(head.conv_seg) is torch.nn.Conv2d
    assert head.conv_seg.bias is not None
    head.train()
    inputs = builders.backbone_features()
    samples = builders.make_data_samples(labels)
    torch.manual_seed(1)
    losses = head.loss(inputs, samples, dict())
    assert {'loss_sup', 'loss_con', 'loss_con_temp'} <= set(losses)

    torch.manual_seed(1)
    features = head.dropout(head.decoder(inputs))
    logits = F.interpolate(
        F.conv2d(features, head.conv_seg.weight, head.conv_seg.bias),
        size=labels.shape[1:], mode='bilinear', align_corners=False)
    expected = F.cross_entropy(
        logits + head.prior.log_prior.float().view(1, -1, 1, 1), labels,
        ignore_index=255)
    torch.testing.assert_close(losses['loss_sup'], expected)

    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(
            head(inputs),
            F.conv2d(head.decoder(inputs), head.conv_seg.weight,
                     head.conv_seg.bias))


def test_unknown_classifier_names_the_choices(builders):
    with pytest.raises(ValueError, match="'cosine' or 'linear'"):
        builders.build_head(classifier='arcface')


@pytest.mark.parametrize('decoder', DECODERS)
def test_each_decoder_trains_and_predicts_in_a_segmentor(
        builders, labels, decoder):
    cfg = builders.segmentor(
        builders.gml_head(builders.tiny_decoders()[decoder]),
        dilated=True,
        auxiliary_head=dict(
            type='FCNHead',
            in_channels=32,
            in_index=2,
            channels=8,
            num_convs=1,
            num_classes=builders.NUM_CLASSES,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)))
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    images = torch.randn(2, 3, builders.IMAGE_SIZE, builders.IMAGE_SIZE)
    model.train()
    losses = model.loss(images, builders.make_data_samples(labels))
    for key in ('decode.loss_sup', 'decode.loss_con', 'decode.loss_con_temp',
                'aux.loss_ce'):
        assert key in losses and math.isfinite(losses[key].item()), key
    total = sum(value for key, value in losses.items() if 'loss' in key)
    total.backward()
    head = model.decode_head
    assert head.loss_gml.log_temperature.grad is not None
    assert all(p.grad is not None
               for p in head.contrast.projector.parameters())
    assert head.conv_seg.weight.grad is not None
    assert int(head.contrast.queue.valid_mask().sum()) > 0

    model.eval()
    with torch.no_grad():
        results = model.predict(images, builders.make_data_samples(labels))
    assert results[0].seg_logits.data.shape == (builders.NUM_CLASSES,
                                                builders.IMAGE_SIZE,
                                                builders.IMAGE_SIZE)
    assert results[0].pred_sem_seg.data.shape == (1, builders.IMAGE_SIZE,
                                                  builders.IMAGE_SIZE)
    # Tensor mode: the head's prior-free logits at feature resolution.
    with torch.no_grad():
        logits = model(images, mode='tensor')
    assert logits.shape[:2] == (2, builders.NUM_CLASSES)
    assert logits.abs().max() <= head.conv_seg.scale + 1e-4


def test_all_ignored_batch_is_finite_zero_and_leaves_queue(builders, labels):
    head = builders.build_head()
    head.train()
    inputs = builders.backbone_features()
    head.loss(inputs, builders.make_data_samples(labels), dict())
    queue_before = {
        name: buffer.clone()
        for name, buffer in head.contrast.queue.named_buffers()
    }
    assert int(head.contrast.queue.valid_mask().sum()) > 0

    ignored = torch.full_like(labels, 255)
    losses = head.loss(inputs, builders.make_data_samples(ignored), dict())
    for key in ('loss_sup', 'loss_con', 'loss_con_temp'):
        assert losses[key].item() == 0.0, key
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for name, parameter in head.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name
    for name, buffer in head.contrast.queue.named_buffers():
        assert torch.equal(buffer, queue_before[name]), name


def test_all_ignored_first_batch_with_empty_queue(builders):
    head = builders.build_head()
    head.train()
    ignored = torch.full((2, builders.IMAGE_SIZE, builders.IMAGE_SIZE), 255)
    losses = head.loss(
        builders.backbone_features(), builders.make_data_samples(ignored),
        dict())
    assert all(
        math.isfinite(v.item()) for k, v in losses.items() if 'loss' in k)
    assert int(head.contrast.queue.valid_mask().sum()) == 0


def test_online_prior_lays_the_queue_out_after_first_batch(builders, labels):
    """The queue follows the head's online prior: uniform until the first
    batch is counted, then laid out from those counts, once."""
    head = builders.build_head(prior=builders.tiny_prior('online'))
    head.train()
    assert head.contrast.queue.prior is head.prior
    uniform_layout = head.contrast.queue.slot_size.clone()
    assert uniform_layout.tolist() == [52, 51, 51, 51, 51]  # 256 slots
    head.loss(builders.backbone_features(), builders.make_data_samples(labels),
              dict())
    counts = torch.bincount(labels[labels != 255], minlength=5).double()
    torch.testing.assert_close(head.prior.counts, counts)
    layout = head.contrast.queue.slot_size.clone()
    assert not torch.equal(layout, uniform_layout)
    # Most frequent class gets the most slots.
    assert int(layout.argmax()) == int(counts.argmax())
    assert int(head.contrast.queue.valid_mask().sum()) > 0
    head.loss(builders.backbone_features(), builders.make_data_samples(labels),
              dict())
    assert torch.equal(head.contrast.queue.slot_size, layout)
    # The state is in buffers: a fresh head restores it from a checkpoint.
    restored = builders.build_head(prior=builders.tiny_prior('online'))
    restored.load_state_dict(head.state_dict())
    assert torch.equal(restored.contrast.queue.slot_size, layout)
    assert torch.equal(restored.contrast.queue.features,
                       head.contrast.queue.features)
    assert torch.equal(restored.prior.counts, head.prior.counts)
    assert int(restored.num_train_steps) == 2
    restored.train()
    restored.loss(builders.backbone_features(seed=1),
                  builders.make_data_samples(labels), dict())
    assert torch.equal(restored.contrast.queue.slot_size, layout)
    # A checkpoint from before the queue followed its prior (with the head's
    # queue_allocated flag) loads strictly.
    old = dict(head.state_dict(), queue_allocated=torch.tensor(True))
    builders.build_head(prior=builders.tiny_prior('online')).load_state_dict(
        old, strict=True)


def test_inference_drops_prior_or_applies_posthoc(builders):
    inputs = builders.backbone_features()
    plain = builders.build_head()
    posthoc = builders.build_head(posthoc_tau=0.5)
    posthoc.load_state_dict(plain.state_dict())
    plain.eval()
    posthoc.eval()
    with torch.no_grad():
        logits = plain(inputs)
        adjusted = posthoc(inputs)
    log_probs = plain.prior.probs.log().view(1, -1, 1, 1)
    torch.testing.assert_close(adjusted, logits - 0.5 * log_probs)
    posthoc.train()
    torch.manual_seed(0)
    plain.train()
    # Training forward never applies the post-hoc shift.
    plain.dropout.p = posthoc.dropout.p = 0.0
    torch.testing.assert_close(posthoc(inputs), plain(inputs))


def test_decoder_classifier_is_removed(builders):
    head = builders.build_head(decoder='segformer')
    names = [name for name, _ in head.named_parameters()]
    assert not any(name.startswith('decoder.conv_seg') for name in names)
    assert 'loss_gml.log_temperature' in names
    head.init_weights()  # the decoder's conv_seg init override still works
