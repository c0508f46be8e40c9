"""PixelContrast: the GML head's contrast step on pixels (anchor ids,
region keys, self-exclusion, the own-image mask of the queue)."""
import pytest
import torch
import torch.nn.functional as F

from mil_seg.gml import ClassPrior, gml_contrastive_terms


def test_queue_receives_detached_feature_resolution_anchors(builders,
                                                            labels):
    head = builders.build_head()
    head.train()
    inputs = builders.backbone_features()
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
    head = builders.build_head(queue_keys='region')
    head.train()
    inputs = builders.backbone_features()
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
        builders.build_head(queue_keys='segment')


def test_self_exclusion_by_image(builders, labels):
    head = builders.build_head(self_exclusion='image')
    head.train()
    head.loss(builders.backbone_features(), builders.make_data_samples(labels),
              dict())
    ids = head.contrast.queue.get()[2][head.contrast.queue.valid_mask()]
    assert set(ids.tolist()) <= {0, 1}


@pytest.mark.parametrize('exclude', [True, False])
def test_anchors_never_meet_keys_of_their_own_image(builders, labels, exclude):
    """The queue is written before the loss: without the mask every anchor
    meets its own detached copy (similarity 1) in L_con."""
    head = builders.build_head(exclude_own_image_keys=exclude)
    head.train()
    features = torch.randn(2, 16, 8, 8)
    for _ in range(2):  # second step: the queue also holds older images
        head.num_train_steps += 1
        inputs = head.contrast(features, labels[:, None],
                               head.num_train_steps)
    query_image = inputs['query_ids'] // 2**22
    key_image = inputs['key_ids'] // 2**22
    filled = inputs['key_ids'] >= 0
    same_image = query_image[:, None] == key_image[None, :]
    assert (inputs['key_mask'] == filled).all()  # K: the filled slots
    if exclude:
        # the loss leaves out the keys whose group is the query's
        query_group = inputs['query_group_ids']
        key_group = inputs['key_group_ids']
        excluded = (query_group[:, None] == key_group[None, :]) & (
            key_group[None, :] >= 0)
        assert (excluded[:, filled] == same_image[:, filled]).all()
        assert same_image[:, filled].any()
        # keys of the other images (this step's and older ones) stay usable
        assert (~excluded[:, filled]).any()
        # the same terms as with the N x K own-image mask it replaces
        loss = head.loss_gml
        prior = ClassPrior(loss.num_classes)
        common = dict(query=inputs['query'], keys=inputs['keys'],
                      key_labels=inputs['key_labels'],
                      labels=inputs['query_labels'], adjust=prior.adjust,
                      log_temperature=loss.log_temperature,
                      query_ids=inputs['query_ids'],
                      key_ids=inputs['key_ids'])
        by_group = gml_contrastive_terms(
            key_mask=inputs['key_mask'],
            query_group_ids=inputs['query_group_ids'],
            key_group_ids=inputs['key_group_ids'], **common)
        by_mask = gml_contrastive_terms(
            key_mask=filled[None, :] & ~same_image, **common)
        for name in by_group:
            torch.testing.assert_close(by_group[name], by_mask[name],
                                       msg=name)
    else:
        assert 'query_group_ids' not in inputs
        assert (same_image & filled[None, :]).any()
