"""Tests of mil_seg.gml.ClassPrior."""
import io
import json
import math
import os.path as osp

import pytest
import torch

import mil_seg.gml.prior as prior_module
from mil_seg.gml import ClassPrior, build_class_prior
from mil_seg.errors import UserError

torch.set_num_threads(1)


@pytest.mark.parametrize('scale', [1.0, 1e8])
def test_probs_positive_normalised_and_scale_free(scale):
    counts = torch.tensor([30.0, 10.0, 0.0, 5.0]) * scale
    prior = ClassPrior(4, counts=counts)
    probs = prior.probs
    assert probs.dtype == torch.float32 and probs.shape == (4, )
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    assert (probs > 0).all()
    # pseudo-count = 1e-3 * mean count: (c + a) / (total + C * a)
    total = counts.double().sum()
    pseudo = 1e-3 * total / 4
    expected = (counts.double() + pseudo) / (total + 4 * pseudo)
    torch.testing.assert_close(probs, expected.float())
    # the same relative counts give the same prior for images or pixels
    torch.testing.assert_close(
        probs, ClassPrior(4, counts=[30, 10, 0, 5]).probs)
    # billions of pixels in float64 counts: exact
    assert prior.counts.dtype == torch.float64


def test_no_smoothing_gives_raw_frequencies():
    prior = ClassPrior(3, counts=[6, 3, 1], smoothing=0.0)
    torch.testing.assert_close(prior.probs, torch.tensor([0.6, 0.3, 0.1]))
    zero = ClassPrior(3, counts=[6, 4, 0], smoothing=0.0)
    assert torch.isfinite(zero.log_prior).all()


def test_log_prior_scales_with_tau():
    prior = ClassPrior(3, counts=[50, 30, 20])
    base = prior.probs.double().log().float()
    torch.testing.assert_close(prior.log_prior, base)
    prior.tau = 0.5
    torch.testing.assert_close(prior.log_prior, 0.5 * base)
    prior.tau = 0.0
    assert torch.equal(prior.log_prior, torch.zeros(3))
    assert ClassPrior(3, counts=[50, 30, 20], tau=2.0).log_prior.allclose(
        2 * base)


def test_file_round_trip(tmp_path):
    path = str(tmp_path / 'sub' / 'data.json')
    counts = [123456789012, 5, 0, 77]
    ClassPrior.write_file(
        path, torch.tensor(counts, dtype=torch.float64),
        classes=['a', 'b', 'c', 'd'], count_type='image', num_samples=10)
    content = ClassPrior.read_file(path)
    # image counts are the counts themselves for count_type 'image'
    assert content == dict(classes=['a', 'b', 'c', 'd'],
                           counts=[float(c) for c in counts],
                           count_type='image', num_samples=10,
                           image_counts=[float(c) for c in counts])
    with open(path) as f:
        assert json.load(f)['counts'] == counts  # integers stay integers
    prior = ClassPrior(4, file=path, class_names=['a', 'b', 'c', 'd'])
    assert torch.equal(prior.counts,
                       torch.tensor(counts, dtype=torch.float64))
    assert prior.count_type == 'image' and prior.num_samples == 10
    assert prior.class_names == ['a', 'b', 'c', 'd']
    torch.testing.assert_close(prior.probs, ClassPrior(4, counts=counts).probs)


def test_shipped_name_lookup(tmp_path, monkeypatch):
    monkeypatch.setattr(prior_module, 'PACKAGE_PRIOR_DIR', str(tmp_path))
    ClassPrior.write_file(str(tmp_path / 'toy.json'), [3, 1])
    assert ClassPrior.resolve_file('toy') == str(tmp_path / 'toy.json')
    assert ClassPrior(2, file='toy.json').counts.tolist() == [3.0, 1.0]
    with pytest.raises(FileNotFoundError, match=r"ships \['toy'\]"):
        ClassPrior(2, file='missing')


def test_package_prior_dir_is_inside_the_package():
    import mil_seg
    assert prior_module.PACKAGE_PRIOR_DIR == osp.join(
        osp.dirname(osp.abspath(mil_seg.__file__)), 'priors')


def test_file_errors(tmp_path):
    good = str(tmp_path / 'good.json')
    ClassPrior.write_file(good, [1, 2, 3], classes=['x', 'y', 'z'])
    with pytest.raises(ValueError, match='has 3 classes but num_classes=4'):
        ClassPrior(4, file=good)
    with pytest.raises(ValueError, match='class_names has 2'):
        ClassPrior(3, file=good, class_names=['x', 'y'])
    with pytest.raises(FileNotFoundError, match='not found'):
        ClassPrior(3, file=str(tmp_path / 'nope.json'))
    corrupt = {
        'not_json.json': '{"counts": [1, 2',
        'no_counts.json': '{"classes": ["a"]}',
        'negative.json': '{"counts": [1, -2, 3]}',
        'nan.json': '{"counts": [1, NaN, 3]}',
        'strings.json': '{"counts": ["1", "2", "3"]}',
        'zero.json': '{"counts": [0, 0, 0]}',
        'type.json': '{"counts": [1, 2, 3], "count_type": "box"}',
    }
    for name, text in corrupt.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match='write_file') as error:
            ClassPrior(3, file=str(path))
        assert '\n' not in str(error.value), name


def test_constructor_errors():
    with pytest.raises(ValueError, match='has 2 classes but num_classes=3'):
        ClassPrior(3, counts=[1, 2])
    with pytest.raises(ValueError, match="mode='online'"):
        ClassPrior(3, mode='fixed')
    # without counts or file the prior starts empty: online, uniform
    empty = ClassPrior(3)
    assert empty.mode == 'online' and empty.is_empty
    torch.testing.assert_close(empty.probs, torch.full((3, ), 1 / 3))
    with pytest.raises(ValueError, match='non-negative'):
        ClassPrior(2, counts=[1, -1])
    with pytest.raises(ValueError, match='not both'):
        ClassPrior(2, counts=[1, 1], file='x.json')
    with pytest.raises(ValueError, match='mode'):
        ClassPrior(2, counts=[1, 1], mode='learned')


def test_online_update_equals_bincount():
    prior = ClassPrior(5, mode='online')
    torch.testing.assert_close(prior.probs, torch.full((5, ), 0.2))
    generator = torch.Generator().manual_seed(0)
    expected = torch.zeros(5, dtype=torch.float64)
    for _ in range(3):
        labels = torch.randint(0, 5, (2, 6, 7), generator=generator)
        labels[0, 0] = 255
        prior.update(labels, ignore_index=255)
        kept = labels[labels != 255]
        expected += torch.bincount(kept, minlength=5).double()
    assert torch.equal(prior.counts, expected)
    assert int(prior.num_updates) == 3
    with pytest.raises(RuntimeError, match="mode='online'"):
        ClassPrior(2, counts=[1, 1]).update(torch.tensor([0]))


def test_state_dict_round_trip_keeps_config_tau():
    prior = ClassPrior(3, mode='online')
    prior.update(torch.tensor([0, 0, 1, 2, 2, 2]))
    buffer = io.BytesIO()
    torch.save(prior.state_dict(), buffer)
    buffer.seek(0)
    fresh = ClassPrior(3, mode='online', tau=0.5)
    fresh.load_state_dict(torch.load(buffer))
    assert torch.equal(fresh.counts, prior.counts)
    assert torch.equal(fresh.num_updates, prior.num_updates)
    assert fresh.tau == 0.5  # a config value, not restored from checkpoint
    assert set(prior.state_dict()) == {'counts', 'num_updates',
                                       'image_counts'}


def test_sorted_classes():
    prior = ClassPrior(4, counts=[5, 50, 5, 500])
    assert prior.sorted_classes().tolist() == [3, 1, 0, 2]
    assert math.isclose(float(prior.probs[3]), 500.14 / 560.56, rel_tol=1e-6)


def test_build_class_prior_accepts_what_a_config_may_hold(tmp_path):
    path = str(tmp_path / 'prior.json')
    ClassPrior.write_file(path, [6, 3, 1], classes=['a', 'b', 'c'])
    built = ClassPrior(3, counts=[6, 3, 1], tau=0.5)
    expected = ClassPrior(3, counts=[6, 3, 1]).counts
    for config in (path, dict(type='ClassPrior', file=path), dict(
            counts=[6, 3, 1]), [6, 3, 1], built):
        prior = build_class_prior(config, 3)
        assert torch.equal(prior.counts, expected), config
    assert build_class_prior(built) is built
    # the number of classes comes from the counts or the file if not given
    assert build_class_prior(path).num_classes == 3
    assert build_class_prior('camvid').num_classes == 11
    # None: an empty prior, uniform until filled
    empty = build_class_prior(None, 4)
    assert empty.is_empty and empty.mode == 'online'
    with pytest.raises(ValueError, match='has 3 classes, the model 4'):
        build_class_prior(built, 4)
    with pytest.raises(ValueError, match="type='ClassPrior'"):
        build_class_prior(dict(type='GMLLoss'), 3)
    with pytest.raises(ValueError, match='needs num_classes'):
        build_class_prior(None)


def test_adjust_is_the_logit_adjustment_in_training_and_post_hoc():
    prior = ClassPrior(3, counts=[6, 3, 1], tau=0.75)
    logits = torch.randn(2, 3, 4, 5, dtype=torch.float16)
    log_probs = prior.probs.double().log().float().view(1, 3, 1, 1)
    trained = prior.adjust(logits)
    assert trained.dtype == torch.float32
    assert torch.equal(
        trained, logits.float() +
        (0.75 * prior.probs.double().log()).float().view(1, 3, 1, 1))
    assert torch.equal(trained, logits.float() +
                       prior.log_prior.view(1, 3, 1, 1))
    # post hoc: any strength, e.g. -posthoc_tau
    torch.testing.assert_close(
        prior.adjust(logits, -0.5), logits.float() - 0.5 * log_probs)
    assert torch.equal(prior.adjust(logits, 0.0), logits.float())
    flat = torch.randn(4, 3)
    torch.testing.assert_close(prior.adjust(flat),
                               flat + prior.log_prior[None])
    with pytest.raises(ValueError, match='for a prior of 3 classes'):
        prior.adjust(torch.randn(2, 4))


def test_set_counts_fills_an_empty_prior():
    prior = ClassPrior(3)
    assert prior.is_empty
    prior.set_counts([8, 4, 0])
    assert not prior.is_empty
    assert torch.equal(prior.counts, torch.tensor([8.0, 4.0, 0.0],
                                                  dtype=torch.float64))
    torch.testing.assert_close(prior.probs_float64.float(), prior.probs)
    with pytest.raises(ValueError, match='2 class counts for a prior of 3'):
        prior.set_counts([1, 2])
    with pytest.raises(ValueError, match='sum to 0'):
        prior.set_counts([0, 0, 0])


def test_image_counts_round_trip_and_kept_out_of_the_prior(tmp_path):
    path = str(tmp_path / 'prior.json')
    ClassPrior.write_file(path, [600, 250, 100, 50], classes=list('abcd'),
                          num_samples=40, image_counts=[40, 12, 30, 3])
    with open(path) as f:
        assert json.load(f)['image_counts'] == [40, 12, 30, 3]
    content = ClassPrior.read_file(path)
    assert content['count_type'] == 'pixel'
    assert content['image_counts'] == [40.0, 12.0, 30.0, 3.0]
    prior = ClassPrior(4, file=path)
    assert prior.has_image_counts
    assert prior.image_counts.tolist() == [40.0, 12.0, 30.0, 3.0]
    # the image counts never enter the prior values
    plain = ClassPrior(4, counts=[600, 250, 100, 50])
    assert not plain.has_image_counts
    assert torch.equal(prior.log_prior, plain.log_prior)
    assert torch.equal(prior.class_weights(), plain.class_weights())
    given = ClassPrior(4, counts=[600, 250, 100, 50],
                       image_counts=[40, 12, 30, 3])
    assert torch.equal(given.image_counts, prior.image_counts)
    # a checkpoint holds them
    fresh = ClassPrior(4, counts=[600, 250, 100, 50])
    fresh.load_state_dict(prior.state_dict())
    assert torch.equal(fresh.image_counts, prior.image_counts)
    with pytest.raises(ValueError, match='not with file'):
        ClassPrior(4, file=path, image_counts=[1, 1, 1, 1])
    with pytest.raises(ValueError, match='image_counts has 3 classes'):
        ClassPrior(4, counts=[1, 1, 1, 1], image_counts=[1, 1, 1])
    with pytest.raises(ValueError, match='3 image counts but 4 counts'):
        ClassPrior.write_file(path, [1, 1, 1, 1], image_counts=[1, 1, 1])


def test_prior_without_image_counts_keeps_working(tmp_path):
    """A file and a checkpoint from before the image counts existed."""
    path = tmp_path / 'old.json'
    path.write_text(json.dumps(dict(classes=['a', 'b'], counts=[30, 10],
                                    count_type='pixel', num_samples=5)))
    content = ClassPrior.read_file(str(path))
    assert content['image_counts'] is None
    prior = ClassPrior(2, file=str(path))
    assert not prior.has_image_counts
    assert prior.image_counts.tolist() == [0.0, 0.0]
    torch.testing.assert_close(prior.probs,
                               ClassPrior(2, counts=[30, 10]).probs)
    # an old checkpoint (no image_counts key) loads strictly
    given = ClassPrior(2, counts=[30, 10], image_counts=[5, 2])
    given.load_state_dict(dict(counts=torch.tensor([3.0, 1.0],
                                                   dtype=torch.float64),
                               num_updates=torch.tensor(0)))
    assert given.counts.tolist() == [3.0, 1.0]
    assert given.image_counts.tolist() == [5.0, 2.0]
    for text in ('{"counts": [1, 2], "image_counts": [1]}',
                 '{"counts": [1, 2], "image_counts": [1, -1]}',
                 '{"counts": [1, 2], "image_counts": "12"}'):
        path.write_text(text)
        with pytest.raises(ValueError, match='image counts|image_counts'):
            ClassPrior.read_file(str(path))


def test_shipped_priors():
    for name, num in (('ade20k', 150), ('camvid', 11)):
        prior = ClassPrior.read_file(ClassPrior.resolve_file(name))
        assert len(prior['counts']) == num
        assert len(prior['classes']) == num
        assert prior['count_type'] == 'pixel'
        assert min(prior['counts']) > 0
        assert len(prior['image_counts']) == num
        assert min(prior['image_counts']) > 0
        assert max(prior['image_counts']) <= prior['num_samples']
    # ADE20K: the Train column of objectInfo150.csv (wall, building, sky,
    # floor, tree, ceiling, road, bed)
    ade20k = ClassPrior.read_file(ClassPrior.resolve_file('ade20k'))
    assert ade20k['image_counts'][:8] == [
        11664, 6046, 8265, 9336, 6678, 6604, 4023, 1906]
    # CamVid: images of the 367 train images that contain each class
    camvid = ClassPrior.read_file(ClassPrior.resolve_file('camvid'))
    assert camvid['image_counts'] == [
        366, 365, 366, 367, 349, 319, 351, 173, 360, 317, 201]


def test_a_file_gives_its_image_counts_as_the_prior_when_asked():
    """``count_type='image'``: the counts are the file's images per class
    (Region Rebalance's prior), from the same file as the pixel prior."""
    for name in ('ade20k', 'camvid'):
        content = ClassPrior.read_file(ClassPrior.resolve_file(name))
        image = ClassPrior(file=name, count_type='image')
        assert image.count_type == 'image'
        assert image.counts.tolist() == content['image_counts']
        assert ClassPrior(file=name, count_type='pixel').counts.tolist() == \
            content['counts']


def test_image_counts_asked_of_a_file_without_them(tmp_path):
    path = str(tmp_path / 'old.json')
    ClassPrior.write_file(path, [5, 3, 1])
    content = json.load(open(path))
    content.pop('image_counts', None)
    json.dump(content, open(path, 'w'))
    with pytest.raises(UserError, match='compute_class_prior'):
        ClassPrior(file=path, count_type='image')
    with pytest.raises(UserError, match="'pixel' or 'image'"):
        ClassPrior(file=path, count_type='voxel')
