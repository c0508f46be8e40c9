"""Long-tailed class profiles, deterministic subset selection and counts."""
from typing import List, Optional, Sequence

import numpy as np

from mil_seg.errors import UserError, WrongModuleError


def long_tail_counts(num_classes: int,
                     max_count: int,
                     imbalance_factor: float,
                     profile: str = 'exp',
                     min_count: int = 1) -> List[int]:
    """Per-class image numbers of a long-tailed training set.

    ``'exp'`` is the CIFAR-LT profile of Cao et al. (LDAM, 2019), used by
    GML: ``n_c = floor(n_max * imb ** (-c / (C - 1)))``, so class 0 keeps
    ``n_max`` images and class ``C - 1`` keeps ``n_max / imb``.
    ``'step'`` keeps ``n_max`` for the first half of the classes and
    ``n_max / imb`` for the rest.

    Args:
        num_classes (int): Number of classes C.
        max_count (int): Images of the most frequent class (class 0).
        imbalance_factor (float): ``n_max / n_min`` (>= 1).
        profile (str): ``'exp'`` or ``'step'``. Defaults to 'exp'.
        min_count (int): Lower bound of every count, so that no class
            disappears from a tiny dataset. Defaults to 1.

    Returns:
        list[int]: C counts, non-increasing.

    Raises:
        UserError: If an argument is out of its range.
    """
    if imbalance_factor < 1:
        raise UserError(
            f'imbalance_factor must be >= 1, got {imbalance_factor}')
    if num_classes < 1:
        raise UserError(f'num_classes must be >= 1, got {num_classes}')
    if profile == 'exp':
        if num_classes == 1:
            return [max(int(max_count), min_count)]
        counts = [
            int(max_count * imbalance_factor**(-c / (num_classes - 1)))
            for c in range(num_classes)
        ]
    elif profile == 'step':
        half = num_classes // 2
        counts = [int(max_count)] * half + [
            int(max_count / imbalance_factor)
        ] * (num_classes - half)
    else:
        raise UserError(f"profile must be 'exp' or 'step', got {profile!r}")
    return [max(n, min_count) for n in counts]


def select_long_tail(labels: Sequence[int],
                     counts: Sequence[int],
                     seed: int = 0,
                     order_keys: Optional[Sequence[str]] = None) -> np.ndarray:
    """Deterministically choose ``counts[c]`` samples of every class c.

    For each class in turn (0, 1, ...), its sample indices (sorted by
    ``order_keys`` if given, otherwise in dataset order) are shuffled by one
    ``numpy.random.RandomState(seed)`` and the first ``counts[c]`` kept. On
    the CIFAR python batches with ``seed=0`` this is the usual CIFAR-LT
    split of LDAM and its successors.

    Args:
        labels (Sequence[int]): Label of every sample of the full dataset.
        counts (Sequence[int]): Wanted number of samples of every class.
        seed (int): Seed of the selection. Defaults to 0.
        order_keys (Sequence[str], optional): Per-sample sort keys (e.g.
            file paths) that make the result independent of file-system
            listing order. Defaults to None.

    Returns:
        np.ndarray: Sorted indices of the chosen samples.

    Raises:
        UserError: If a class has fewer samples than wanted.
    """
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.RandomState(seed)
    chosen = []
    for cls, wanted in enumerate(counts):
        idx = np.flatnonzero(labels == cls)
        if order_keys is not None:
            idx = idx[np.argsort([order_keys[i] for i in idx], kind='stable')]
        if len(idx) < wanted:
            raise UserError(
                f'class {cls} has {len(idx)} samples, fewer than the {wanted} '
                'the long-tail profile asks for: give it more images, lower '
                'max_count, or (a dataset that is long-tailed already, '
                'empty classes included) train on it without LongTailSubset')
        rng.shuffle(idx)
        chosen.append(idx[:wanted])
    if not chosen:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chosen))


def count_labels(labels: Sequence[int], num_classes: int) -> List[int]:
    """Number of samples of every class.

    Args:
        labels (Sequence[int]): Label of every sample.
        num_classes (int): Number of classes C.

    Returns:
        list[int]: C counts.

    Raises:
        UserError: If a label is outside ``[0, num_classes)``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise UserError(f'labels must lie in [0, {num_classes}), got '
                        f'[{labels.min()}, {labels.max()}]')
    return np.bincount(labels, minlength=num_classes).tolist()


class ClassCountsMixin:
    """``get_class_counts()`` of a dataset that records its class counts in
    ``metainfo['class_counts']`` when it loads its data list."""

    def get_class_counts(self) -> List[int]:
        """list[int]: Number of images of every class in this dataset."""
        if not self._fully_initialized:
            self.full_init()
        return list(self._metainfo['class_counts'])


def get_class_counts(dataset) -> List[int]:
    """Per-class training counts of a built dataset (or dataset wrapper).

    Looks, in order, for a ``get_class_counts()`` method, for
    ``metainfo['class_counts']``, for an inner ``dataset`` attribute (mmengine
    wrappers such as ``RepeatDataset``), and finally counts
    ``get_gt_labels()``.

    Args:
        dataset: A built dataset.

    Returns:
        list[int]: C counts, C = ``len(metainfo['classes'])`` when known.

    Raises:
        WrongModuleError: If the dataset offers none of these.
    """
    if hasattr(dataset, 'get_class_counts'):
        return list(dataset.get_class_counts())
    metainfo = getattr(dataset, 'metainfo', None) or {}
    if metainfo.get('class_counts') is not None:
        return list(metainfo['class_counts'])
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'get_gt_labels'):
        return get_class_counts(dataset.dataset)
    if hasattr(dataset, 'get_gt_labels'):
        labels = np.asarray(dataset.get_gt_labels(), dtype=np.int64)
        classes = metainfo.get('classes')
        num_classes = len(classes) if classes else int(labels.max()) + 1
        return count_labels(labels, num_classes)
    raise WrongModuleError(
        f'Cannot find the class counts of {type(dataset)}: give it a '
        "get_class_counts() method or metainfo['class_counts'].")
