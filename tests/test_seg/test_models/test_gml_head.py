"""GMLHead / GMLCascadeHead: losses, supported decoders, queue behaviour."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mil_seg.gml.functional import cross_entropy

DECODERS = ['aspp', 'uper', 'segformer', 'fcn']


def backbone_features(builders, batch_size=2, seed=0):
    """Features of the tiny dilated backbone (8/16/32/64 channels)."""
    torch.manual_seed(seed)
    backbone = MODELS.build(builders.tiny_backbone(dilated=True))
    images = torch.randn(batch_size, 3, builders.IMAGE_SIZE,
                         builders.IMAGE_SIZE)
    with torch.no_grad():
        return backbone(images)


def build_head(builders, decoder='fcn', **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        builders.gml_head(builders.tiny_decoders()[decoder], **kwargs))


def test_without_contrastive_term_equals_logit_adjusted_ce(builders, labels):
    head = build_head(
        builders, loss_gml=dict(con_weight=0.0), classifier_scale=16.0)
    head.train()
    assert head.contrast is None
    inputs = backbone_features(builders)
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
    head = build_head(builders, classifier='linear')
    assert type(head.conv_seg) is torch.nn.Conv2d
    assert head.conv_seg.bias is not None
    head.train()
    inputs = backbone_features(builders)
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
        build_head(builders, classifier='arcface')


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
    assert all(p.grad is not None for p in head.contrast.projector.parameters())
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


def test_all_ignored_batch_is_finite_zero_and_leaves_queue(builders, labels):
    head = build_head(builders)
    head.train()
    inputs = backbone_features(builders)
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
    head = build_head(builders)
    head.train()
    ignored = torch.full((2, builders.IMAGE_SIZE, builders.IMAGE_SIZE), 255)
    losses = head.loss(
        backbone_features(builders), builders.make_data_samples(ignored),
        dict())
    assert all(
        math.isfinite(v.item()) for k, v in losses.items() if 'loss' in k)
    assert int(head.contrast.queue.valid_mask().sum()) == 0


def test_queue_receives_detached_feature_resolution_anchors(builders,
                                                            labels):
    head = build_head(builders)
    head.train()
    inputs = backbone_features(builders)
    head.loss(inputs, builders.make_data_samples(labels), dict())
    features, key_labels, sample_ids, valid = head.contrast.queue.get()
    assert features.shape[1] == head.channels
    assert not features.requires_grad
    # 32x32 labels at the stride-8 feature map: 4x4 pixels; ids encode
    # (image, pixel) and are unique.
    ids = sample_ids[valid]
    assert ids.unique().numel() == ids.numel()
    pixel = ids % (2**22)
    image = ids // (2**22)
    assert bool((pixel < 16).all())
    assert set(image.tolist()) <= {0, 1}
    # Every stored label is the nearest-downsampled label of its pixel.
    small = F.interpolate(labels[:, None].float(), size=(4, 4),
                          mode='nearest').long().flatten(1)
    assert torch.equal(small[image, pixel], key_labels[valid])
    # The next step uses new image ids: no collision with stored keys.
    head.loss(inputs, builders.make_data_samples(labels), dict())
    ids = head.contrast.queue.get()[2][head.contrast.queue.valid_mask()]
    assert ids.unique().numel() == ids.numel()


def test_region_keys_are_per_image_class_means(builders, labels):
    head = build_head(builders, queue_keys='region')
    head.train()
    inputs = backbone_features(builders)
    with torch.no_grad():
        features = head._decode_features(inputs)  # 2 x F x 4 x 4
    head.loss(inputs, builders.make_data_samples(labels), dict())
    stored, key_labels, sample_ids, valid = head.contrast.queue.get()
    small = F.interpolate(labels[:, None].float(), size=(4, 4),
                          mode='nearest').long().squeeze(1)
    expected = {}
    for image in range(2):
        for label in small[image].unique().tolist():
            if label != 255:
                mask = small[image] == label
                expected[(image, label)] = features[image][:, mask].mean(1)
    assert int(valid.sum()) == len(expected)
    for feature, label, sample_id in zip(stored[valid], key_labels[valid],
                                         sample_ids[valid]):
        image, local = divmod(int(sample_id), 2**22)
        # The id's pixel part lies past the 4 x 4 map: never a pixel's id.
        assert local == 2**22 - 1 - int(label)
        torch.testing.assert_close(
            feature, expected.pop((image, int(label))).float())
    assert not expected


def test_unknown_queue_keys_names_the_choices(builders):
    with pytest.raises(ValueError, match="'pixel' or 'region'"):
        build_head(builders, queue_keys='segment')


def test_online_prior_allocates_queue_after_first_batch(builders, labels):
    head = build_head(builders, prior=builders.tiny_prior('online'))
    head.train()
    assert not bool(head.queue_allocated)
    uniform_layout = head.contrast.queue.slot_size.clone()
    head.loss(backbone_features(builders), builders.make_data_samples(labels),
              dict())
    assert bool(head.queue_allocated)
    counts = torch.bincount(labels[labels != 255], minlength=5).double()
    torch.testing.assert_close(head.prior.counts, counts)
    layout = head.contrast.queue.slot_size.clone()
    assert not torch.equal(layout, uniform_layout)
    # Most frequent class gets the most slots.
    assert int(layout.argmax()) == int(counts.argmax())
    assert int(head.contrast.queue.valid_mask().sum()) > 0
    head.loss(backbone_features(builders), builders.make_data_samples(labels),
              dict())
    assert torch.equal(head.contrast.queue.slot_size, layout)
    # The state is in buffers: a fresh head restores it from a checkpoint.
    restored = build_head(builders, prior=builders.tiny_prior('online'))
    restored.load_state_dict(head.state_dict())
    assert bool(restored.queue_allocated)
    assert torch.equal(restored.contrast.queue.features, head.contrast.queue.features)
    assert torch.equal(restored.prior.counts, head.prior.counts)
    assert int(restored.num_train_steps) == 2


def test_inference_drops_prior_or_applies_posthoc(builders):
    inputs = backbone_features(builders)
    plain = build_head(builders)
    posthoc = build_head(builders, posthoc_tau=0.5)
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


def test_self_exclusion_by_image(builders, labels):
    head = build_head(builders, self_exclusion='image')
    head.train()
    head.loss(backbone_features(builders), builders.make_data_samples(labels),
              dict())
    ids = head.contrast.queue.get()[2][head.contrast.queue.valid_mask()]
    assert set(ids.tolist()) <= {0, 1}


def test_decoder_classifier_is_removed(builders):
    head = build_head(builders, decoder='segformer')
    names = [name for name, _ in head.named_parameters()]
    assert not any(name.startswith('decoder.conv_seg') for name in names)
    assert 'loss_gml.log_temperature' in names
    head.init_weights()  # the decoder's conv_seg init override still works


@pytest.mark.parametrize('exclude', [True, False])
def test_anchors_never_meet_keys_of_their_own_image(builders, labels, exclude):
    """The queue is written before the loss: without the mask every anchor
    meets its own detached copy (similarity 1) in L_con."""
    head = build_head(builders, exclude_own_image_keys=exclude)
    head.train()
    features = torch.randn(2, 16, 8, 8)
    for _ in range(2):  # second step: the queue also holds older images
        head.num_train_steps += 1
        inputs = head.contrast(features, labels[:, None],
                               head.num_train_steps)
    shape = (len(inputs['query']), len(inputs['keys']))
    mask = inputs['key_mask'].expand(shape)
    query_image = inputs['query_ids'] // 2**22
    key_image = inputs['key_ids'] // 2**22
    filled = inputs['key_ids'] >= 0
    same_image = query_image[:, None] == key_image[None, :]
    if exclude:
        assert not (mask & same_image).any()
        # keys of the other images (this step's and older ones) stay usable
        assert (mask == (filled[None, :] & ~same_image)).all()
    else:
        assert (mask & same_image).any()


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
