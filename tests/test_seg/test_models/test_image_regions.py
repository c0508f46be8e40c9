"""Regions of a batch (mil_seg.seg.models.image_regions) against loops."""
import torch

from mil_seg.seg.models import image_class_means, labels_at_feature_size


def reference_means(features, labels, num_classes, ignore_index):
    """Per image and class, the mean of the features of its pixels, by
    loops over the pixels."""
    batch_size, channels, height, width = features.shape
    means = torch.zeros(batch_size * num_classes, channels)
    counts = torch.zeros(batch_size * num_classes, dtype=torch.long)
    for b in range(batch_size):
        for c in range(num_classes):
            pixels = [
                features[b, :, y, x] for y in range(height)
                for x in range(width) if labels[b, y, x] == c
            ]
            if pixels:
                means[b * num_classes + c] = sum(pixels) / len(pixels)
                counts[b * num_classes + c] = len(pixels)
    return means, counts


def test_labels_at_feature_size_take_the_nearest_pixel():
    labels = torch.tensor([[0, 0, 1, 1], [0, 2, 1, 1], [3, 3, 255, 4],
                           [3, 3, 4, 4]])
    small = labels_at_feature_size(labels[None, None], (2, 2))
    # nearest: source pixel floor(i * 4 / 2), i.e. rows and columns 0, 2
    assert small.tolist() == [[[0, 1], [3, 255]]]
    assert small.dtype == torch.long


def test_image_class_means_match_loops_and_skip_ignored_pixels():
    torch.manual_seed(0)
    features = torch.randn(3, 4, 3, 5)
    labels = torch.tensor([
        [[0, 0, 1, 1, 255], [2, 2, 1, 255, 255], [0, 2, 2, 2, 1]],
        [[3, 3, 3, 3, 3], [3, 0, 0, 3, 3], [255, 255, 3, 3, 3]],
        [[255] * 5] * 3,  # an image without any labelled pixel
    ])
    means, counts = image_class_means(features, labels, 4, 255)
    expected_means, expected_counts = reference_means(features, labels, 4,
                                                      255)
    torch.testing.assert_close(means, expected_means)
    assert counts.tolist() == expected_counts.tolist()
    assert counts.view(3, 4)[2].tolist() == [0, 0, 0, 0]
    assert torch.isfinite(means).all()
    # Features at ignored pixels do not matter.
    changed = features.clone()
    changed.permute(0, 2, 3, 1)[labels == 255] = 1e4
    torch.testing.assert_close(
        image_class_means(changed, labels, 4, 255)[0], means)


def test_image_class_means_use_any_ignore_index_and_keep_gradients():
    torch.manual_seed(1)
    features = torch.randn(2, 3, 2, 2, requires_grad=True)
    labels = torch.tensor([[[0, 1], [1, 2]], [[2, 2], [0, 0]]])
    means, counts = image_class_means(features, labels, 3, ignore_index=1)
    expected, expected_counts = reference_means(
        features.detach(), torch.where(labels == 1, -1, labels), 3, 1)
    torch.testing.assert_close(means, expected)
    assert counts.tolist() == expected_counts.tolist() == [1, 0, 1, 2, 0, 2]
    means.sum().backward()
    # d(sum of means) / d(pixel) = 1 / its region's size; 0 when ignored
    expected_grad = torch.tensor([[[1.0, 0.0], [0.0, 1.0]],
                                  [[0.5, 0.5], [0.5, 0.5]]])
    torch.testing.assert_close(features.grad,
                               expected_grad[:, None].expand(2, 3, 2, 2))


def test_image_class_means_sum_in_float32():
    features = torch.full((1, 2, 64, 64), 100.0, dtype=torch.float16)
    labels = torch.zeros(1, 64, 64, dtype=torch.long)
    means, _ = image_class_means(features, labels, 2, 255)
    # 4096 x 100 overflows float16 (max 65504); the mean is exact in float32
    assert means.dtype == torch.float32
    torch.testing.assert_close(means[0], torch.full((2, ), 100.0))
