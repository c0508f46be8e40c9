"""Bad input to the segmentation side: each case gives a clear error that
names the fix, or a documented safe behaviour."""
import json

import cv2
import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict

from mil_seg.gml import ClassBalancedQueue, ClassPrior, GMLLoss
from .tiny_head import (CHANNELS, NUM_CLASSES, block_labels, build_head,
                        data_samples, features, total_loss)


def train_step(head, inputs, labels):
    losses = head.loss([inputs], data_samples(labels), dict())
    total_loss(losses).backward()
    return losses


def test_prior_length_not_num_classes():
    with pytest.raises(ValueError, match='num_classes=4: use the prior'):
        build_head(prior=dict(type='ClassPrior', counts=[1, 2, 3]))


def test_prior_file_missing_or_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match='pass an existing path'):
        build_head(prior=dict(type='ClassPrior', file=str(tmp_path / 'no')))
    corrupt = tmp_path / 'corrupt.json'
    corrupt.write_text('{"counts": [1, 2')
    with pytest.raises(ValueError, match='not valid JSON.*regenerate'):
        build_head(prior=dict(type='ClassPrior', file=str(corrupt)))
    for content in ({'counts': ['a', 1, 1, 1]}, {'classes': ['a']},
                    {'counts': [1, -1, 1, 1]}, {'counts': [0, 0, 0, 0]}):
        corrupt.write_text(json.dumps(content))
        with pytest.raises(ValueError, match='regenerate'):
            build_head(prior=dict(type='ClassPrior', file=str(corrupt)))
    corrupt.write_text(json.dumps({'counts': [1, 2, 3]}))
    with pytest.raises(ValueError, match='num_classes=4'):
        build_head(prior=dict(type='ClassPrior', file=str(corrupt)))


@pytest.mark.parametrize('smoothing', [0.0, 1.0])
def test_class_with_zero_pixels_in_the_prior(smoothing):
    """Smoothing gives it a small mass; without smoothing it is floored at
    1e-12: the log prior and the loss stay finite."""
    prior = dict(
        type='ClassPrior', counts=[80, 40, 0, 1], smoothing=smoothing)
    head = build_head(prior=prior)
    assert torch.isfinite(head.prior.log_prior).all()
    assert head.contrast.queue.slot_size[2] >= head.contrast.queue.base_size
    losses = train_step(head, features(), block_labels())
    assert all(torch.isfinite(value) for value in losses.values())


def test_all_ignored_batch_zero_loss_gradients_defined_queue_unchanged():
    head = build_head()
    inputs = features().requires_grad_()
    before = {k: v.clone() for k, v in head.contrast.queue.named_buffers()}
    losses = train_step(head, inputs, torch.full((2, 32, 32), 255))
    assert total_loss(losses).item() == 0.0
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()
    for name, buffer in head.contrast.queue.named_buffers():
        assert torch.equal(buffer, before[name]), name


@pytest.mark.parametrize('prior_mode', ['fixed', 'online'])
@pytest.mark.parametrize('bad_value', [NUM_CLASSES, 7, -3])
def test_labels_outside_classes_name_the_fix(prior_mode, bad_value):
    prior = dict(type='ClassPrior', mode='online') if prior_mode == \
        'online' else dict(type='ClassPrior', counts=[8, 4, 2, 1])
    head = build_head(prior=prior)
    labels = block_labels()
    labels[0, :8, :8] = bad_value
    with pytest.raises(ValueError, match=rf'\[{bad_value}\] are outside'
                       r' \[0, 4\).*ignore_index=255: set num_classes'):
        train_step(head, features(), labels)
    labels[0, :8, :8] = 255  # the ignore index itself is fine
    train_step(head, features(), labels)


def test_queue_smaller_than_classes_times_base_size():
    with pytest.raises(ValueError, match='increase size or decrease'):
        build_head(queue=dict(size=7, base_size=2))


def test_checkpoint_with_another_queue_shape():
    """Strict loading fails with the reason; mmengine's non-strict loading
    (resume, load_from) keeps a consistent, empty queue and logs why."""
    source = build_head(queue=dict(size=96))
    train_step(source, features(), block_labels())
    state = source.state_dict()
    head = build_head()
    train_step(head, features(), block_labels())
    with pytest.raises(RuntimeError, match='queue starts empty.*queue_size'):
        head.load_state_dict(state)
    head = build_head()
    train_step(head, features(), block_labels())
    load_state_dict(head, state, strict=False)
    assert not head.contrast.queue.valid_mask().any()
    assert (head.contrast.queue.num_pushed == 0).all()
    assert head.contrast.queue.features.shape == (64, CHANNELS)
    # the rest of the head is loaded
    assert torch.equal(head.conv_seg.weight, source.conv_seg.weight)


def test_embedding_dim_mismatch_between_head_and_queue():
    queue = ClassBalancedQueue(NUM_CLASSES, size=16, dim=CHANNELS)
    with pytest.raises(ValueError, match=f'push B x {CHANNELS} features'):
        queue.push(torch.randn(3, CHANNELS + 1), torch.tensor([0, 1, 2]))
    loss = GMLLoss(NUM_CLASSES)
    with pytest.raises(ValueError, match='project both to the same size'):
        loss(
            torch.randn(2, NUM_CLASSES),
            torch.tensor([0, 1]),
            ClassPrior(NUM_CLASSES),
            query=torch.randn(2, 4),
            keys=torch.randn(3, 5),
            key_labels=torch.tensor([0, 1, 2]))


@pytest.mark.parametrize('prior_mode', ['fixed', 'online'])
def test_dataset_in_which_some_classes_never_occur(prior_mode):
    prior = dict(type='ClassPrior', mode='online') if prior_mode == \
        'online' else dict(type='ClassPrior', counts=[8, 4, 0, 0])
    head = build_head(prior=prior)
    temperature = head.loss_gml.log_temperature.detach().clone()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
    for step in range(3):
        optimizer.zero_grad()
        losses = train_step(head, features(seed=step),
                            block_labels(classes=[0, 1], seed=step))
        assert all(torch.isfinite(value) for value in losses.values())
        optimizer.step()
    assert torch.isfinite(head.prior.log_prior).all()
    assert (head.prior.probs > 0).all()
    valid = head.contrast.queue.valid_mask()
    assert not valid[head.contrast.queue.labels >= 2].any()
    # the absent classes' temperatures get no gradient
    assert torch.equal(head.loss_gml.log_temperature.detach()[2:],
                       temperature[2:])


@pytest.mark.parametrize('label_size,feature_size', [((37, 23), (5, 3)),
                                                     ((3, 200), (1, 25)),
                                                     ((1, 1), (1, 1))])
def test_unusual_image_sizes(label_size, feature_size):
    head = build_head()
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, NUM_CLASSES, (2, *label_size),
                           generator=generator)
    inputs = torch.randn(2, CHANNELS, *feature_size, generator=generator)
    losses = train_step(head, inputs, labels)
    assert all(torch.isfinite(value) for value in losses.values())
    assert head.contrast.queue.num_pushed.sum() > 0


def test_single_channel_images_are_loaded_as_colour(tmp_path):
    """mmcv's LoadImageFromFile (color_type='color', the default of every
    config here) reads a grayscale file as 3 equal channels, so the
    backbones' 3-channel stem and the 3-value mean/std apply unchanged."""
    from mmcv.transforms import LoadImageFromFile
    path = str(tmp_path / 'gray.png')
    cv2.imwrite(path, np.arange(35 * 17, dtype=np.uint8).reshape(35, 17))
    results = LoadImageFromFile()(dict(img_path=path))
    assert results['img'].shape == (35, 17, 3)
    assert (results['img'][..., 0] == results['img'][..., 2]).all()
