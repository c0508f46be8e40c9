"""RegionRebalanceHead: the region loss against a computation by hand, the
base head at region_weight 0, degenerate batches, gradients, user errors,
checkpoints."""
import math

import pytest
import torch
from mmseg.registry import MODELS

from mil_seg.errors import UserError, WrongModuleError

COUNTS = [4500, 2500, 1200, 600, 200]


def raw_prior(tau=1.0):
    """A prior whose probabilities are exactly counts / sum."""
    return dict(type='ClassPrior', counts=COUNTS, smoothing=0.0, tau=tau)


def rr_head(decoder, **kwargs):
    return dict(
        type='RegionRebalanceHead',
        decoder=decoder,
        prior=kwargs.pop('prior', raw_prior()),
        **kwargs)


def build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def nearest_labels(labels, height, width):
    """Nearest-neighbour downsampling written out: source pixel
    floor(i * H / h)."""
    rows = [math.floor(i * labels.shape[1] / height) for i in range(height)]
    cols = [math.floor(j * labels.shape[2] / width) for j in range(width)]
    return labels[:, rows][:, :, cols]


def reference_region_loss(head, features, labels, tau):
    """Loops over images and classes: mean reduced feature of each region
    present, its logits + tau * log(counts / sum), cross-entropy, mean."""
    reduced = head.region_reduce(features)
    small = nearest_labels(labels, *reduced.shape[2:])
    log_prior = torch.tensor(COUNTS, dtype=torch.float64)
    log_prior = (log_prior / log_prior.sum()).log().float()
    losses = []
    for b in range(reduced.shape[0]):
        for c in range(head.num_classes):
            mask = small[b] == c
            if not mask.any():
                continue
            region = reduced[b][:, mask].mean(dim=1)
            logits = head.region_classifier(region[None])[0] + tau * log_prior
            losses.append(torch.logsumexp(logits, 0) - logits[c])
    if not losses:
        return torch.zeros(())
    return sum(losses) / len(losses)


def decoder_without_dropout(builders, name='fcn'):
    return dict(builders.tiny_decoders()[name], dropout_ratio=0)


@pytest.mark.parametrize('name', ['fcn', 'aspp'])
def test_region_loss_matches_the_computation_by_hand(builders, name):
    inputs = builders.backbone_features()
    labels = builders.long_tailed_labels()
    labels[1, :8] = 255
    head = build(
        rr_head(
            decoder_without_dropout(builders, name),
            prior=raw_prior(tau=0.5),
            region_weight=0.7,
            region_channels=6,
            region_hidden_channels=10))
    head.train()
    losses = head.loss(inputs, builders.make_data_samples(labels), None)
    features = head.decoder(inputs)
    expected = 0.7 * reference_region_loss(head, features, labels, tau=0.5)
    torch.testing.assert_close(losses['loss_region'], expected)
    assert losses['loss_region'] > 0


def test_regions_are_per_image(builders):
    """Two images with the same classes give two regions per class: the
    loss is the mean over (image, class), not over classes of the batch."""
    inputs = builders.backbone_features()
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, :, 16:] = 3
    head = build(rr_head(decoder_without_dropout(builders)))
    head.train()
    features = head.decoder(inputs)
    logits, counts = head.region_logits(features, labels[:, None])
    assert counts.view(2, 5).tolist() == [[8, 0, 0, 8, 0]] * 2
    assert not torch.allclose(logits[0], logits[5])  # image 0 vs 1, class 0


def test_region_weight_zero_is_the_base_head(builders):
    """Same losses (no loss_region), decoder gradients and predictions as
    the decoder alone, given its weights; no region branch is built."""
    decoder = builders.tiny_decoders()['aspp']  # dropout 0.1: same RNG use
    inputs = builders.backbone_features()
    labels = builders.long_tailed_labels()
    samples = builders.make_data_samples(labels)
    base = build(decoder, seed=0)
    head = build(rr_head(decoder, region_weight=0), seed=1)
    missing, unexpected = head.load_state_dict(base.state_dict(), False)
    assert all(key.startswith('prior.') for key in missing), missing
    assert unexpected == []
    assert head.region_reduce is None and head.region_classifier is None
    assert not any('region' in name for name, _ in head.named_parameters())

    results = []
    for model in (base, head):
        model.train()
        torch.manual_seed(3)
        losses = model.loss(inputs, samples, None)
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        grads = {
            name.replace('decoder.', '', 1): param.grad.clone()
            for name, param in model.named_parameters()
        }
        model.eval()
        with torch.no_grad():
            prediction = model.predict(inputs, [s.metainfo for s in samples],
                                       None)
        results.append((losses, grads, prediction))
    (base_losses, base_grads, base_pred), (losses, grads, pred) = results
    assert set(losses) == set(base_losses) == {'loss_ce', 'acc_seg'}
    for key in base_losses:
        torch.testing.assert_close(losses[key], base_losses[key])
    assert set(grads) == set(base_grads)
    for name in base_grads:
        torch.testing.assert_close(grads[name], base_grads[name])
    torch.testing.assert_close(pred, base_pred)


def test_predictions_and_pixel_loss_are_the_decoders(builders):
    """With the branch: predictions stay the decoder's; the pixel loss is
    the decoder's, the region loss is added."""
    decoder = decoder_without_dropout(builders)
    inputs = builders.backbone_features()
    samples = builders.make_data_samples(builders.long_tailed_labels())
    base = build(decoder)
    head = build(rr_head(decoder, freeze_region_branch=False))
    head.load_state_dict(base.state_dict(), strict=False)
    base.train()
    head.train()
    base_losses = base.loss(inputs, samples, None)
    losses = head.loss(inputs, samples, None)
    assert set(losses) == {'loss_ce', 'acc_seg', 'loss_region'}
    torch.testing.assert_close(losses['loss_ce'], base_losses['loss_ce'])
    base.eval()
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(inputs), base(inputs))


@pytest.mark.parametrize('freeze', [True, False])
def test_batches_without_labelled_pixels(builders, freeze):
    """An all-ignored image adds no region; an all-ignored batch gives a
    zero region loss. Nothing is NaN; a trainable branch still gets
    gradients (zeros)."""
    inputs = builders.backbone_features()
    labels = builders.long_tailed_labels()
    labels[1] = 255
    head = build(
        rr_head(decoder_without_dropout(builders),
                freeze_region_branch=freeze))
    head.train()
    losses = head.loss(inputs, builders.make_data_samples(labels), None)
    expected = reference_region_loss(head, head.decoder(inputs), labels, 1.0)
    torch.testing.assert_close(losses['loss_region'], expected)

    labels[:] = 255
    head.zero_grad()
    losses = head.loss(inputs, builders.make_data_samples(labels), None)
    assert losses['loss_region'].item() == 0.0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, param in head.named_parameters():
        if param.requires_grad:
            assert param.grad is not None, name
            assert torch.isfinite(param.grad).all(), name
        if not freeze and name.startswith('region_'):
            assert param.grad.abs().sum() == 0, name


def test_ignored_pixels_form_no_region(builders):
    """A region of class 2 that only ignored pixels would add changes
    nothing: labels 255 and a class absent elsewhere."""
    inputs = builders.backbone_features()
    labels = torch.zeros(2, 32, 32, dtype=torch.long)
    labels[:, 16:] = 1
    head = build(rr_head(decoder_without_dropout(builders)))
    head.train()
    features = head.decoder(inputs)
    _, counts = head.region_logits(features, labels[:, None])
    ignored = labels.clone()
    ignored[:, :, :8] = 255
    _, counts_ignored = head.region_logits(features, ignored[:, None])
    assert counts.view(2, 5)[:, 2].tolist() == [0, 0]
    # 4 x 4 feature map: the first column of feature pixels is ignored
    assert counts.view(2, 5)[:, :2].tolist() == [[8, 8]] * 2
    assert counts_ignored.view(2, 5)[:, :2].tolist() == [[6, 6]] * 2


@pytest.mark.parametrize('freeze', [True, False])
def test_segmentor_step_gives_every_trainable_parameter_a_gradient(
        builders, freeze):
    cfg = builders.segmentor(
        rr_head(builders.tiny_decoders()['aspp'],
                freeze_region_branch=freeze),
        dilated=True)
    model = build(cfg)
    model.train()
    images = torch.randn(2, 3, 32, 32)
    losses = model.loss(images,
                        builders.make_data_samples(
                            builders.long_tailed_labels()))
    assert 'decode.loss_region' in losses
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    no_grad = [
        name for name, param in model.named_parameters()
        if param.requires_grad and param.grad is None
    ]
    assert no_grad == []
    region = [(name, param) for name, param in model.named_parameters()
              if '.region_' in name]
    # conv weight, BN weight and bias, two linear layers' weights and biases
    assert len(region) == 7
    assert all(param.requires_grad is not freeze for _, param in region)
    if not freeze:
        assert all(param.grad.abs().sum() > 0 for _, param in region)


def test_frozen_branch_still_trains_the_decoder(builders):
    """The authors' setting: the region loss reaches the decoder through
    the frozen branch."""
    inputs = builders.backbone_features()
    samples = builders.make_data_samples(builders.long_tailed_labels())
    head = build(rr_head(decoder_without_dropout(builders)))
    head.train()
    head.loss(inputs, samples, None)['loss_region'].backward()
    grad = head.decoder.conv_cat.conv.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    assert head.conv_seg.weight.grad is None  # pixel classifier: not used


def test_plain_head_checkpoint_loads_and_own_checkpoint_round_trips(
        builders):
    decoder = builders.tiny_decoders()['fcn']
    base = build(decoder, seed=0)
    head = build(rr_head(decoder), seed=1)
    missing, unexpected = head.load_state_dict(base.state_dict(), False)
    assert unexpected == []
    assert all(key.startswith(('prior.', 'region_')) for key in missing)
    torch.testing.assert_close(head.conv_seg.bias, base.conv_seg.bias)
    torch.testing.assert_close(head.decoder.conv_cat.conv.weight,
                               base.conv_cat.conv.weight)
    other = build(rr_head(decoder), seed=2)
    other.load_state_dict(head.state_dict(), strict=True)
    for (name, value), other_value in zip(head.state_dict().items(),
                                          other.state_dict().values()):
        torch.testing.assert_close(other_value, value, msg=name)


def test_user_errors(builders):
    decoder = builders.tiny_decoders()['fcn']
    for weight in (-0.1, float('nan'), float('inf')):
        with pytest.raises(UserError, match='region_weight'):
            build(rr_head(decoder, region_weight=weight))
    with pytest.raises(UserError, match='fix num_classes'):
        build(rr_head(decoder, prior=dict(type='ClassPrior',
                                          counts=[1, 2, 3, 4])))
    with pytest.raises(UserError, match='region_channels'):
        build(rr_head(decoder, region_channels=0))
    with pytest.raises(UserError, match='one logit per class'):
        build(
            rr_head(
                dict(decoder, num_classes=2, out_channels=1,
                     loss_decode=dict(type='CrossEntropyLoss',
                                      use_sigmoid=True)),
                prior=dict(type='ClassPrior', counts=[1, 2])))
    cascade = builders.ocr_cascade_heads()[1]['decoder']
    with pytest.raises(WrongModuleError, match='single-stage'):
        build(rr_head(cascade))
    head = build(rr_head(decoder))
    labels = builders.long_tailed_labels()
    labels[0, 0, 0] = 7
    with pytest.raises(UserError, match='outside'):
        head.loss(builders.backbone_features(),
                  builders.make_data_samples(labels), None)
