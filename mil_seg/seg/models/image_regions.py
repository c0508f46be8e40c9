"""Regions of a batch: the pixels of one class in one image.

Two consumers share these steps: the region keys of :class:`PixelContrast`
(``queue_keys='region'``) and the region features of
:class:`RegionRebalanceHead`.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .anchor_sampler import image_class_groups


def labels_at_feature_size(seg_label: Tensor, size: Sequence[int]) -> Tensor:
    """Label maps resized to a feature map by nearest neighbour (no label
    is invented at class borders; a region thinner than the feature stride
    may vanish).

    Args:
        seg_label (Tensor): B x 1 x H x W labels.
        size (Sequence[int]): The feature map's (h, w).

    Returns:
        Tensor: B x h x w int64 labels.
    """
    return F.interpolate(
        seg_label.float(), size=tuple(size),
        mode='nearest').long().squeeze(1)


def image_class_means(features: Tensor, labels: Tensor, num_classes: int,
                      ignore_index: int) -> Tuple[Tensor, Tensor]:
    """Mean feature of every (image, class) region and its pixel count.

    Pixels labelled ``ignore_index`` (or outside ``[0, num_classes)``)
    belong to no region. Sums are float32 (a half-precision sum over many
    pixels overflows). Differentiable in ``features``.

    Args:
        features (Tensor): B x F x h x w features.
        labels (Tensor): B x h x w labels at the features' resolution.
        num_classes (int): Number of classes C.
        ignore_index (int): Label of pixels outside every region.

    Returns:
        tuple[Tensor, Tensor]: ``means``, (B * C) x F float32 in (image,
        class) order (row ``b * C + c``; zeros where the class is absent),
        and ``counts``, (B * C,) int64 pixels per region.
    """
    batch_size, channels = features.shape[:2]
    num_groups = batch_size * num_classes
    # Ignored pixels land in one extra row, dropped with the counts.
    group = image_class_groups(labels, num_classes, ignore_index)
    pixels = features.float().flatten(2).transpose(1, 2).reshape(-1, channels)
    sums = pixels.new_zeros(num_groups + 1, channels).index_add(
        0, group, pixels)[:num_groups]
    counts = torch.bincount(group, minlength=num_groups + 1)[:num_groups]
    means = sums / counts.clamp_min(1).unsqueeze(1).to(sums)
    return means, counts
