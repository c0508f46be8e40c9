"""Class-balanced sampling of anchor pixels for the pixel contrastive term."""
from typing import Optional, Tuple

import torch
from mmseg.registry import TASK_UTILS
from torch import Tensor

from mil_seg.errors import UserError


def balanced_quotas(counts: Tensor,
                    budget: int,
                    generator: Optional[torch.Generator] = None) -> Tensor:
    """Split a budget of samples over classes as evenly as their sizes allow.

    Max-min fair ("water filling") split: every class gets the same quota
    ``t`` unless it has fewer than ``t`` pixels, in which case it gives all of
    them and the rest is shared by the larger classes. The remainder of the
    integer division goes, one sample each, to randomly chosen classes that
    still have pixels left, so no two quotas of unsaturated classes differ by
    more than one.

    Args:
        counts (Tensor): Pixels available per class, shape (M,), integer,
            all positive.
        budget (int): Total number of samples wanted.
        generator (torch.Generator, optional): Random generator for the
            remainder (on CPU). Defaults to None (the global generator).

    Returns:
        Tensor: Quotas, shape (M,), int64 on the device of ``counts``, with
        ``quota <= counts`` and ``quota.sum() == min(budget, counts.sum())``.
    """
    counts_list = [int(c) for c in counts.tolist()]
    num_groups = len(counts_list)
    if budget <= 0 or num_groups == 0:
        return torch.zeros_like(counts, dtype=torch.long)
    if sum(counts_list) <= budget:
        return counts.to(torch.long).clone()
    # Find the water level: classes below it give all their pixels.
    sorted_counts = sorted(counts_list)
    taken_by_smaller = 0
    level = 0
    for position, count in enumerate(sorted_counts):
        groups_left = num_groups - position
        if taken_by_smaller + count * groups_left >= budget:
            level = (budget - taken_by_smaller) // groups_left
            break
        taken_by_smaller += count
    quotas = [min(count, level) for count in counts_list]
    remainder = budget - sum(quotas)
    if remainder > 0:
        unsaturated = [i for i, c in enumerate(counts_list) if c > level]
        order = torch.randperm(len(unsaturated), generator=generator).tolist()
        for i in order[:remainder]:
            quotas[unsaturated[i]] += 1
    return torch.tensor(quotas, dtype=torch.long, device=counts.device)


def image_class_groups(labels: Tensor, num_classes: int,
                       ignore_index: int) -> Tensor:
    """Group of every pixel of a batch: its (image, class) pair.

    Args:
        labels (Tensor): Label maps, shape (B, H, W) or (B, H * W).
        num_classes (int): Number of classes.
        ignore_index (int): Label of ignored pixels.

    Returns:
        Tensor: (B * H * W,) int64, ``image * num_classes + label``;
        pixels labelled ``ignore_index`` or outside ``[0, num_classes)``
        get ``B * num_classes``, one past the last group.
    """
    batch_size = labels.shape[0]
    flat_labels = labels.reshape(batch_size, -1).long()
    valid = (flat_labels != ignore_index) & (flat_labels >= 0) & (
        flat_labels < num_classes)
    image_of_pixel = torch.arange(
        batch_size, device=labels.device).view(-1, 1).expand_as(flat_labels)
    group = torch.where(valid, image_of_pixel * num_classes + flat_labels,
                        torch.full_like(flat_labels, batch_size * num_classes))
    return group.reshape(-1)


@TASK_UTILS.register_module()
class ClassBalancedAnchorSampler:
    """Pick anchor pixels of one image, balanced over the classes present.

    The labels must already be at feature resolution (the GML head
    downsamples them by nearest neighbour). Pixels whose label is
    ``ignore_index`` (or outside ``[0, num_classes)``) are never picked. At
    most ``max_anchors_per_image`` pixels are returned; the budget is split
    over the classes present by :func:`balanced_quotas` (equal shares, a
    class with fewer pixels gives all of them and the others fill its
    share), and within a class pixels are drawn uniformly without
    replacement.

    Args:
        max_anchors_per_image (int): Anchor budget per image.
            Defaults to 256.
        ignore_index (int): Label of pixels never sampled. Defaults to 255.

    Raises:
        UserError: If ``max_anchors_per_image`` is negative.
    """

    def __init__(self,
                 max_anchors_per_image: int = 256,
                 ignore_index: int = 255) -> None:
        if max_anchors_per_image < 0:
            raise UserError('max_anchors_per_image must be >= 0, got '
                            f'{max_anchors_per_image}')
        self.max_anchors_per_image = max_anchors_per_image
        self.ignore_index = ignore_index

    def sample(self,
               labels: Tensor,
               num_classes: int,
               generator: Optional[torch.Generator] = None
               ) -> Tuple[Tensor, Tensor]:
        """Sample anchors from one label map.

        Args:
            labels (Tensor): Label map at feature resolution, shape (H, W)
                or flat (H * W,), integer.
            num_classes (int): Number of classes; labels outside
                ``[0, num_classes)`` are treated as ignored.
            generator (torch.Generator, optional): Random generator on the
                device of ``labels``. Defaults to None (the global one).

        Returns:
            tuple[Tensor, Tensor]: Flat pixel indices into ``labels``, shape
            (N,) int64, and their labels, shape (N,) int64, with
            ``N <= max_anchors_per_image``; both grouped by class.
        """
        _, pixel_index, anchor_labels = self.sample_batch(
            labels.reshape(1, -1), num_classes, generator)
        return pixel_index, anchor_labels

    def sample_batch(self,
                     labels: Tensor,
                     num_classes: int,
                     generator: Optional[torch.Generator] = None
                     ) -> Tuple[Tensor, Tensor, Tensor]:
        """Sample anchors from every image of a batch at once.

        Same draw as :meth:`sample` per image, vectorised over the batch
        (no Python loop, no host synchronisation but the final selection),
        so the GPU is not stalled once per image.

        Args:
            labels (Tensor): Label maps at feature resolution, shape
                (B, H, W) or (B, H * W), integer.
            num_classes (int): Number of classes; labels outside
                ``[0, num_classes)`` are treated as ignored.
            generator (torch.Generator, optional): Random generator on the
                device of ``labels``. Defaults to None (the global one).

        Returns:
            tuple[Tensor, Tensor, Tensor]: Image index, flat pixel index
            within the image and label of every anchor, each (N,) int64,
            grouped by image then class; at most ``max_anchors_per_image``
            anchors per image.
        """
        batch_size = labels.shape[0]
        flat_labels = labels.reshape(batch_size, -1).long()
        num_pixels = flat_labels.shape[1]
        device = flat_labels.device
        num_groups = batch_size * num_classes
        # Invalid pixels go to the last group, which gets no quota.
        group = image_class_groups(flat_labels, num_classes,
                                   self.ignore_index)
        counts = torch.bincount(group, minlength=num_groups + 1)
        quotas = torch.cat([
            self._batch_quotas(counts[:num_groups].view(
                batch_size, num_classes), generator).reshape(-1),
            counts.new_zeros(1)
        ])
        # Shuffle, then group with a stable sort: the first k pixels of a
        # group are a uniform draw of k of its pixels.
        shuffle = torch.randperm(
            group.numel(), device=device, generator=generator)
        sorted_group, order = torch.sort(group[shuffle], stable=True)
        flat_index = shuffle[order]
        group_start = torch.cumsum(counts, 0) - counts
        rank_in_group = torch.arange(
            group.numel(), device=device) - group_start[sorted_group]
        keep = rank_in_group < quotas[sorted_group]
        flat_index = flat_index[keep]
        image_index = flat_index // num_pixels
        pixel_index = flat_index % num_pixels
        return image_index, pixel_index, sorted_group[keep] % num_classes

    def _batch_quotas(self,
                      counts: Tensor,
                      generator: Optional[torch.Generator] = None) -> Tensor:
        """Row-wise :func:`balanced_quotas` of a (B, C) count matrix.

        Absent classes (count 0) are saturated at 0, so water filling over
        all C classes equals water filling over the present ones.
        """
        budget = self.max_anchors_per_image
        batch_size, num_classes = counts.shape
        sorted_counts = torch.sort(counts, dim=1)[0]
        taken_by_smaller = torch.cumsum(sorted_counts, 1) - sorted_counts
        groups_left = torch.arange(
            num_classes, 0, -1, device=counts.device).view(1, -1)
        reaches = taken_by_smaller + sorted_counts * groups_left >= budget
        # First position whose level reaches the budget (C if none: the
        # image has fewer valid pixels than the budget and gives them all).
        first = torch.where(
            reaches.any(1), reaches.float().argmax(1),
            torch.full((batch_size, ), num_classes, device=counts.device))
        safe_first = first.clamp_max(num_classes - 1).view(-1, 1)
        level = (budget - taken_by_smaller.gather(1, safe_first)) // (
            groups_left.expand(batch_size, -1).gather(1, safe_first))
        level = torch.where(
            first.view(-1, 1) < num_classes, level,
            counts.max(1, keepdim=True)[0])
        quotas = torch.minimum(counts, level)
        # The remainder of the division, one more anchor each for randomly
        # chosen classes that still have pixels left.
        remainder = (budget - quotas.sum(1, keepdim=True)).clamp_min(0)
        unsaturated = counts > level
        priority = torch.rand(
            counts.shape, device=counts.device, generator=generator)
        priority = torch.where(unsaturated, priority,
                               torch.full_like(priority, 2.0))
        rank = torch.argsort(torch.argsort(priority, dim=1), dim=1)
        return quotas + (unsaturated & (rank < remainder)).long()

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_anchors_per_image='
                f'{self.max_anchors_per_image}, '
                f'ignore_index={self.ignore_index})')
