"""Class-balanced anchor sampling: budget, balance, ignored pixels."""
import pytest
import torch
from mmseg.registry import TASK_UTILS

import mil_seg  # noqa: F401
from mil_seg.seg.models import balanced_quotas


@pytest.mark.parametrize('counts,budget', [
    ([10, 10, 10], 10),
    ([1000] * 150, 256),
    ([3, 500, 7, 1000], 64),
    ([3, 5], 64),
    ([50, 2, 2, 2], 20),
])
def test_balanced_quotas_are_max_min_fair(counts, budget):
    counts = torch.tensor(counts)
    quotas = balanced_quotas(counts, budget)
    assert int(quotas.sum()) == min(budget, int(counts.sum()))
    assert bool((quotas <= counts).all())
    # Unsaturated classes differ by at most one; a saturated class never
    # gets less than... it has (it gives everything it has).
    unsaturated = quotas < counts
    if unsaturated.any():
        top = quotas[unsaturated]
        assert int(top.max() - top.min()) <= 1
        assert bool((quotas[~unsaturated] <= top.max()).all())


def build_sampler(budget=40):
    return TASK_UTILS.build(
        dict(type='ClassBalancedAnchorSampler',
             max_anchors_per_image=budget, ignore_index=255))


def test_sampler_never_picks_ignored_pixels_and_balances():
    torch.manual_seed(0)
    labels = torch.full((16, 16), 255, dtype=torch.long)
    labels[:10] = 0  # 160 pixels of a head class
    labels[10:13, :] = 1  # 48 pixels
    labels[13, :3] = 2  # 3 pixels of a tail class
    labels[14, 0] = 7  # out of range for 5 classes: treated as ignored
    sampler = build_sampler(budget=40)
    for _ in range(20):
        pixel_index, anchor_labels = sampler.sample(labels, num_classes=5)
        flat = labels.flatten()
        assert torch.equal(flat[pixel_index], anchor_labels)
        assert bool((anchor_labels != 255).all())
        assert bool((anchor_labels < 5).all())
        assert pixel_index.unique().numel() == pixel_index.numel()
        counts = torch.bincount(anchor_labels, minlength=5)
        # 40 anchors: the tail class gives its 3, the other two share 37.
        assert counts.tolist()[:3] in ([19, 18, 3], [18, 19, 3])
        assert int(counts.sum()) == 40


def test_sampler_takes_everything_under_budget():
    labels = torch.tensor([[0, 1, 255], [1, 255, 2]])
    pixel_index, anchor_labels = build_sampler(budget=40).sample(
        labels, num_classes=3)
    assert sorted(pixel_index.tolist()) == [0, 1, 3, 5]
    assert sorted(anchor_labels.tolist()) == [0, 1, 1, 2]


def test_sampler_all_ignored_returns_empty():
    labels = torch.full((4, 4), 255, dtype=torch.long)
    pixel_index, anchor_labels = build_sampler().sample(labels, 3)
    assert pixel_index.numel() == 0 and anchor_labels.numel() == 0


def test_sampler_draws_uniformly_within_a_class():
    torch.manual_seed(0)
    labels = torch.zeros(1, 20, dtype=torch.long)
    sampler = build_sampler(budget=5)
    hits = torch.zeros(20)
    for _ in range(400):
        pixel_index, _ = sampler.sample(labels, num_classes=1)
        hits[pixel_index] += 1
    # Expected 100 hits per pixel.
    assert hits.min() > 60 and hits.max() < 140


@pytest.mark.parametrize('budget', [0, 1, 7, 40, 500])
def test_batch_quotas_match_the_reference_split(budget):
    generator = torch.Generator().manual_seed(0)
    counts = torch.randint(0, 60, (6, 9), generator=generator)
    counts[0] = 0  # an all-ignored image
    counts[1, :8] = 0  # a single class
    sampler = build_sampler(budget=budget)
    quotas = sampler._batch_quotas(counts, generator)
    for row, row_quotas in zip(counts, quotas):
        reference = balanced_quotas(row, budget)
        assert int(row_quotas.sum()) == int(reference.sum())
        assert bool((row_quotas <= row).all())
        # Same water level: the same multiset of quotas (only the classes
        # that get the remainder's extra anchor are drawn at random).
        assert sorted(row_quotas.tolist()) == sorted(reference.tolist())
        unsaturated = row_quotas < row
        if unsaturated.any():
            top = row_quotas[unsaturated]
            assert int(top.max() - top.min()) <= 1


def test_sample_batch_balances_every_image():
    torch.manual_seed(0)
    labels = torch.full((3, 8, 8), 255, dtype=torch.long)
    labels[0, :4] = 0
    labels[0, 4:6] = 1
    labels[0, 6, :2] = 2
    labels[2] = 3  # image 1 is all ignored
    sampler = build_sampler(budget=20)
    image_index, pixel_index, anchor_labels = sampler.sample_batch(
        labels, num_classes=4)
    assert torch.equal(labels.flatten(1)[image_index, pixel_index],
                       anchor_labels)
    per_image = torch.bincount(image_index, minlength=3)
    assert per_image.tolist() == [20, 0, 20]
    first = torch.bincount(anchor_labels[image_index == 0], minlength=4)
    assert first.tolist()[:3] in ([9, 9, 2], )
    assert bool((anchor_labels[image_index == 2] == 3).all())
    pairs = image_index * 64 + pixel_index
    assert pairs.unique().numel() == pairs.numel()
