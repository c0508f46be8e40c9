"""Paired bootstrap intervals for differences in mIoU between methods.

A benchmark compares methods over the same evaluation images and the same
seeds. Whether a difference in mIoU (or in a group's mIoU) is more than the
noise of a finite evaluation set is asked here with a paired bootstrap and
its percentile interval (Efron & Tibshirani, "An Introduction to the
Bootstrap", 1993, ch. 13). IoU, like BLEU, is a ratio of sums over the
whole set, so each sample recomputes it from resampled sums rather than
averaging per-image scores, as Koehn ("Statistical Significance Tests for
Machine Translation Evaluation", EMNLP 2004) does for BLEU:

* every run saves, for each evaluation image, the intersection and the
  union of each class (:class:`ImageSums`);
* one bootstrap sample draws the evaluation images with replacement; the
  same draw is used for both methods and for every seed (the runs are
  paired by seed and by image);
* each run's per-class IoU is recomputed from its resampled sums (a class
  with no union in the sample has no IoU, and means skip it, as mmseg's
  ``IoUMetric`` does), the statistic is the mean over seeds of the
  per-seed difference of mean IoUs;
* the interval is the percentile interval of that statistic.

The variability this captures is that of the evaluation set; the seeds
enter as pairs (the estimate averages them), not as a resampled factor,
since three or so seeds are too few to resample.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError


@dataclass(frozen=True)
class ImageSums:
    """The per-image intersection and union of every class of one run.

    Args:
        intersection (np.ndarray): ``(num_images, num_classes)`` pixel
            counts of prediction and label agreeing on each class.
        union (np.ndarray): ``(num_images, num_classes)`` pixel counts of
            prediction or label being each class.
        images (tuple[str]): The images' paths, in the same order, where
            the evaluation knew them; runs whose images are both known pair
            only on the same images. Defaults to () (unknown).
    """

    intersection: np.ndarray
    union: np.ndarray
    images: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.intersection.ndim != 2
                or self.intersection.shape != self.union.shape):
            raise UserError(
                'per-image sums must be two arrays of shape (images, '
                f'classes); got {self.intersection.shape} and '
                f'{self.union.shape}: rerun the evaluation to write them')
        if self.images and len(self.images) != self.intersection.shape[0]:
            raise UserError(
                f'{len(self.images)} image names for '
                f'{self.intersection.shape[0]} images of per-image sums')


def load_sums(path: str) -> Tuple[ImageSums, Dict[str, List[int]]]:
    """A run's per-image sums, as ``LongTailIoUMetric`` writes them
    (``per_class_sums.npz``), and its class groups.

    Args:
        path (str): The ``.npz`` file.

    Returns:
        tuple: The :class:`ImageSums` and, per group metric the run's
        classes were grouped into (``mIoU_head``, ..., ``mIoU_rare``), the
        indices of its classes.

    Raises:
        UserError: For a file that is not such sums.
    """
    try:
        with np.load(path) as data:
            sums = ImageSums(data['intersection'], data['union'],
                             tuple(str(n) for n in data['images']))
            labels = [str(g) for g in data['groups']] + [
                str(g) for g in data['frequency_groups']]
            width = len(data['groups'])
    except (OSError, KeyError, ValueError) as error:
        raise UserError(f'{path}: not the per-image sums of '
                        f'LongTailIoUMetric ({error}): rerun the '
                        'evaluation') from None
    groups: Dict[str, List[int]] = {}
    for position, name in enumerate(labels):
        groups.setdefault(f'mIoU_{name}', []).append(position % width)
    return sums, groups


@dataclass(frozen=True)
class Difference:
    """A difference between two methods' metrics with its interval.

    Args:
        estimate (float): Mean over seeds of the per-seed difference, on
            the full evaluation set.
        low (float): Lower end of the interval.
        high (float): Upper end of the interval.
        confidence (float): The interval's confidence level.
    """

    estimate: float
    low: float
    high: float
    confidence: float

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def mean_iou(intersection: np.ndarray,
             union: np.ndarray,
             classes: Optional[Sequence[int]] = None) -> np.ndarray:
    """Mean IoU from summed intersections and unions.

    Args:
        intersection (np.ndarray): ``(..., num_classes)`` summed
            intersections.
        union (np.ndarray): Unions of the same shape.
        classes (Sequence[int], optional): The classes to average (a
            group). Defaults to all.

    Returns:
        np.ndarray: ``(...)`` mean IoU in percent over the classes that
        have a union (NaN where none has).
    """
    if classes is not None:
        index = np.asarray(classes, dtype=np.int64)
        intersection, union = intersection[..., index], union[..., index]
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = np.where(union > 0, intersection / np.maximum(union, 1), np.nan)
        counted = np.sum(~np.isnan(iou), axis=-1)
        total = np.nansum(iou, axis=-1)
        return np.where(counted > 0, 100 * total / np.maximum(counted, 1),
                        np.nan)


def paired_bootstrap(runs: Sequence[ImageSums],
                     baseline_runs: Sequence[ImageSums],
                     classes: Optional[Sequence[int]] = None,
                     num_samples: int = 2000,
                     confidence: float = 0.95,
                     seed: int = 0) -> Difference:
    """Mean IoU of ``runs`` minus that of ``baseline_runs``, with a paired
    bootstrap interval.

    Args:
        runs (Sequence[ImageSums]): One method's runs, one per seed.
        baseline_runs (Sequence[ImageSums]): The other method's runs, the
            same seeds in the same order, on the same images in the same
            order.
        classes (Sequence[int], optional): The classes whose mean IoU is
            compared (a group). Defaults to all.
        num_samples (int): Bootstrap samples. Defaults to 2000.
        confidence (float): Confidence of the interval. Defaults to 0.95.
        seed (int): Seed of the resampling, so that an interval is
            reproducible. Defaults to 0.

    Returns:
        Difference: The estimate on the full set and the percentile
        interval.

    Raises:
        UserError: If the runs do not pair up (number of seeds, images or
            classes).
    """
    return paired_bootstraps(runs, baseline_runs, {'': classes},
                             num_samples, confidence, seed)['']


def paired_bootstraps(runs: Sequence[ImageSums],
                      baseline_runs: Sequence[ImageSums],
                      class_sets: Dict[str, Optional[Sequence[int]]],
                      num_samples: int = 2000,
                      confidence: float = 0.95,
                      seed: int = 0) -> Dict[str, Difference]:
    """:func:`paired_bootstrap` of several class sets (mIoU and each
    group's) on the same bootstrap samples, each run resampled once.

    Args:
        runs (Sequence[ImageSums]): See :func:`paired_bootstrap`.
        baseline_runs (Sequence[ImageSums]): See :func:`paired_bootstrap`.
        class_sets (dict): Name -> the classes compared (None: all).
        num_samples (int): Bootstrap samples. Defaults to 2000.
        confidence (float): Confidence of the intervals. Defaults to 0.95.
        seed (int): Seed of the resampling. Defaults to 0.

    Returns:
        dict[str, Difference]: The difference of each class set.

    Raises:
        UserError: If the runs do not pair up (number of seeds, images or
            classes).
    """
    if not runs or len(runs) != len(baseline_runs):
        raise UserError(
            f'a paired bootstrap needs the same seeds of both methods; got '
            f'{len(runs)} and {len(baseline_runs)} runs: train the missing '
            'seeds')
    shapes = {run.intersection.shape for run in [*runs, *baseline_runs]}
    if len(shapes) != 1:
        raise UserError(
            'the runs were evaluated on different images or classes '
            f'(shapes {sorted(shapes)}): evaluate every run on the same '
            'split')
    named = {run.images for run in [*runs, *baseline_runs] if run.images}
    if len(named) > 1:
        raise UserError(
            'the runs were evaluated on different images (or in another '
            'order): evaluate every run on the same split')
    num_images = runs[0].intersection.shape[0]
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_images, size=(num_samples, num_images))
    weights = np.zeros((num_samples, num_images), dtype=np.float64)
    np.add.at(weights, (np.arange(num_samples)[:, None], draws), 1.0)

    def sums(run: ImageSums, resampled: bool) -> Tuple[np.ndarray, ...]:
        if not resampled:
            return run.intersection.sum(axis=0), run.union.sum(axis=0)
        # (samples, images) @ (images, classes)
        return weights @ run.intersection, weights @ run.union

    pairs = [[(sums(run, r), sums(base, r)) for run, base in
              zip(runs, baseline_runs)] for r in (False, True)]
    tail = 100 * (1 - confidence) / 2
    differences = {}
    for name, classes in class_sets.items():
        full, resampled = (np.mean(
            [mean_iou(*a, classes) - mean_iou(*b, classes)
             for a, b in seeds], axis=0) for seeds in pairs)
        samples = resampled[~np.isnan(resampled)]
        low, high = (np.percentile(samples, [tail, 100 - tail])
                     if samples.size else (np.nan, np.nan))
        differences[name] = Difference(float(full), float(low), float(high),
                                       confidence)
    return differences
