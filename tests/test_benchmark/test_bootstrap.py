"""``mil_seg.benchmark.bootstrap``: the paired bootstrap of mIoU
differences, against a per-sample loop written from its definition."""
import numpy as np
import pytest

from mil_seg.benchmark.bootstrap import (ImageSums, load_sums, mean_iou,
                                        paired_bootstrap, paired_bootstraps)
from mil_seg.errors import UserError


def random_run(rng, images=12, classes=4, skill=0.5):
    label = rng.integers(50, 200, size=(images, classes)).astype(float)
    predicted = rng.integers(50, 200, size=(images, classes)).astype(float)
    inter = np.floor(skill * np.minimum(label, predicted))
    return ImageSums(inter, label + predicted - inter)


def reference_mean_iou(inter, union, classes=None):
    ious = [100 * i / u for c, (i, u) in enumerate(zip(inter, union))
            if u > 0 and (classes is None or c in classes)]
    return sum(ious) / len(ious)


def test_mean_iou_skips_classes_without_union():
    inter = np.array([3.0, 0.0, 1.0])
    union = np.array([4.0, 0.0, 4.0])
    assert mean_iou(inter, union) == pytest.approx((75 + 25) / 2)
    assert mean_iou(inter, union, classes=[2]) == pytest.approx(25)
    assert np.isnan(mean_iou(inter, union, classes=[1]))


@pytest.mark.parametrize('classes', [None, [0, 3]])
def test_matches_a_loop_over_samples_with_the_same_draws(classes):
    rng = np.random.default_rng(1)
    runs = [random_run(rng, skill=0.6) for _ in range(2)]
    baseline = [random_run(rng, skill=0.5) for _ in range(2)]
    result = paired_bootstrap(runs, baseline, classes=classes,
                              num_samples=200, seed=7)
    draws = np.random.default_rng(7).integers(0, 12, size=(200, 12))
    samples = []
    for draw in draws:
        per_seed = []
        for run, base in zip(runs, baseline):
            a = reference_mean_iou(run.intersection[draw].sum(0),
                                   run.union[draw].sum(0), classes)
            b = reference_mean_iou(base.intersection[draw].sum(0),
                                   base.union[draw].sum(0), classes)
            per_seed.append(a - b)
        samples.append(np.mean(per_seed))
    low, high = np.percentile(samples, [2.5, 97.5])
    assert result.low == pytest.approx(low)
    assert result.high == pytest.approx(high)
    full = np.mean([
        reference_mean_iou(r.intersection.sum(0), r.union.sum(0), classes) -
        reference_mean_iou(b.intersection.sum(0), b.union.sum(0), classes)
        for r, b in zip(runs, baseline)
    ])
    assert result.estimate == pytest.approx(full)


def test_identical_runs_differ_by_nothing():
    rng = np.random.default_rng(0)
    runs = [random_run(rng) for _ in range(3)]
    result = paired_bootstrap(runs, runs)
    assert (result.estimate, result.low, result.high) == (0.0, 0.0, 0.0)
    assert not result.significant


def test_a_method_better_on_every_image_is_significant():
    rng = np.random.default_rng(0)
    baseline = [random_run(rng, images=30) for _ in range(3)]
    better = [
        ImageSums(np.minimum(b.intersection * 1.3, b.union), b.union)
        for b in baseline
    ]
    result = paired_bootstrap(better, baseline)
    assert result.low > 0 and result.significant
    reverse = paired_bootstrap(baseline, better)
    assert reverse.high < 0 and reverse.significant


def test_noise_alone_is_not_significant():
    rng = np.random.default_rng(3)
    runs = [random_run(rng, images=40) for _ in range(3)]
    others = [random_run(rng, images=40) for _ in range(3)]
    result = paired_bootstrap(runs, others)
    assert result.low < 0 < result.high
    assert not result.significant


def test_runs_that_do_not_pair_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match='same seeds'):
        paired_bootstrap([random_run(rng)], [])
    with pytest.raises(UserError, match='different images'):
        paired_bootstrap([random_run(rng, images=5)],
                         [random_run(rng, images=6)])
    with pytest.raises(UserError, match=r'shape \(images, classes\)'):
        ImageSums(np.zeros(3), np.zeros(3))


def test_several_class_sets_on_the_same_samples_as_one_each():
    rng = np.random.default_rng(2)
    runs = [random_run(rng, skill=0.6) for _ in range(2)]
    baseline = [random_run(rng, skill=0.5) for _ in range(2)]
    sets = {'mIoU': None, 'mIoU_tail': [2, 3]}
    both = paired_bootstraps(runs, baseline, sets, num_samples=300, seed=4)
    for name, classes in sets.items():
        assert both[name] == paired_bootstrap(runs, baseline, classes,
                                              num_samples=300, seed=4)


def test_runs_named_on_other_images_do_not_pair():
    rng = np.random.default_rng(0)
    a, b = random_run(rng, images=2), random_run(rng, images=2)
    named = ImageSums(a.intersection, a.union, ('x.png', 'y.png'))
    swapped = ImageSums(b.intersection, b.union, ('y.png', 'x.png'))
    with pytest.raises(UserError, match='different images'):
        paired_bootstrap([named], [swapped])
    paired_bootstrap([named], [b])  # unnamed: paired by order
    with pytest.raises(UserError, match='1 image names for 2 images'):
        ImageSums(a.intersection, a.union, ('x.png', ))


def test_load_sums_reads_the_metric_file_and_its_groups(tmp_path):
    path = str(tmp_path / 'per_class_sums.npz')
    np.savez(path, intersection=np.ones((2, 3)), union=np.full((2, 3), 2.0),
             pred_area=np.ones((2, 3)), label_area=np.ones((2, 3)),
             images=np.array(['a', 'b']), classes=np.array(['x', 'y', 'z']),
             groups=np.array(['head', 'tail', 'tail']),
             frequency_groups=np.array(['rare', 'frequent', 'rare']))
    sums, groups = load_sums(path)
    assert sums.images == ('a', 'b') and sums.union.shape == (2, 3)
    assert groups == {'mIoU_head': [0], 'mIoU_tail': [1, 2],
                      'mIoU_rare': [0, 2], 'mIoU_frequent': [1]}
    with pytest.raises(UserError, match='not the per-image sums'):
        load_sums(str(tmp_path / 'missing.npz'))
