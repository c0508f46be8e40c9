"""Top-1 accuracy with many / medium / few-shot groups."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import DATASETS, METRICS

from mil_seg.gml.groups import class_groups
from mil_seg.gml.prior import PriorConfig, build_class_prior
from mil_seg.errors import UserError


@METRICS.register_module()
class LongTailAccuracy(BaseMetric):
    """Top-1 accuracy and many / medium / few-shot accuracy.

    The groups follow the long-tail literature (Liu et al., 2019): with the
    default ``group_by='count', group_split=(100, 20)``, classes with more
    than 100 training images are many-shot, from 20 to 100 medium-shot,
    fewer than 20 few-shot. A group's accuracy is the mean per-class
    accuracy over its classes present in the evaluation set (on a balanced
    test set, the sample accuracy of the group); an empty group reports
    ``nan``.

    The groups are :func:`~mil_seg.gml.groups.class_groups`, with the
    segmentation metric's arguments (``'share'`` and ``'rank'`` work too;
    the three groups keep the names many / medium / few). The training
    class counts come from, in order: ``prior`` (anything
    :func:`~mil_seg.gml.prior.build_class_prior` accepts, e.g. a prior file
    of image counts), ``train_dataset`` (a dataset config built on first
    use), or :meth:`set_class_counts`
    (:class:`~mil_seg.engine.ClassCountsHook` calls it with the counts of
    the runner's training dataset or of a prior file). They are never a
    hand-written list in our configs.

    Reported keys (with the ``lt`` prefix): ``top1`` (sample accuracy, %),
    ``mean_class`` (mean per-class accuracy, %), ``many``, ``medium``,
    ``few`` (%).

    Args:
        prior (str | dict | ClassPrior, optional): The training images per
            class, as a class prior. Defaults to None.
        train_dataset (dict, optional): Config of the training dataset whose
            ``get_class_counts()`` (or labels) give the counts. Defaults to
            None.
        group_by (str): 'count', 'share' or 'rank', see
            :func:`~mil_seg.gml.groups.class_groups`. Defaults to 'count'.
        group_split (Tuple[float, float]): The group boundaries. Defaults
            to (100, 20).
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Metric name prefix. Defaults to 'lt'.
    """
    default_prefix: Optional[str] = 'lt'

    def __init__(self,
                 prior: PriorConfig = None,
                 train_dataset: Optional[dict] = None,
                 group_by: str = 'count',
                 group_split: Tuple[float, float] = (100, 20),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        # validate the grouping arguments early
        class_groups([2.0, 1.0], group_by, group_split)
        self.group_by = group_by
        self.group_split = tuple(group_split)
        self.train_dataset = train_dataset
        self.class_counts = None
        if prior is not None:
            self.set_class_counts(build_class_prior(prior).counts.numpy())

    @property
    def requires_class_counts(self) -> bool:
        """bool: True while no counts are known (``ClassCountsHook``
        fills them)."""
        return self.class_counts is None and self.train_dataset is None

    def set_class_counts(self,
                         counts: Union[Sequence[int], np.ndarray],
                         *,
                         image_counts: Optional[Sequence[int]] = None,
                         source: Optional[str] = None) -> None:
        """Set the training images per class.

        Args:
            counts (Sequence[int] | np.ndarray): C counts.
            image_counts (Sequence[int], optional): Unused: a
                classification count is already a count of images. Defaults
                to None.
            source (str, optional): Where the counts come from (unused).
                Defaults to None.
        """
        self.class_counts = np.asarray(counts, dtype=np.int64).reshape(-1)

    def _get_class_counts(self) -> np.ndarray:
        if self.class_counts is None and self.train_dataset is not None:
            from mil_seg.cls.datasets import get_class_counts
            dataset = self.train_dataset
            if isinstance(dataset, dict):
                dataset = DATASETS.build(dataset)
            self.set_class_counts(get_class_counts(dataset))
        if self.class_counts is None:
            raise RuntimeError(
                'LongTailAccuracy has no training class counts: pass '
                'prior or train_dataset, or add '
                "dict(type='ClassCountsHook') to custom_hooks.")
        return self.class_counts

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store the predicted and true label of every sample.

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs.
        """
        for data_sample in data_samples:
            if 'pred_label' in data_sample:
                pred = int(data_sample['pred_label'].reshape(-1)[0])
            else:
                pred = int(data_sample['pred_score'].argmax())
            gt = int(data_sample['gt_label'].reshape(-1)[0])
            self.results.append((pred, gt))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        """Compute the accuracies (%) from ``(pred, gt)`` pairs.

        Args:
            results (list): Pairs gathered by :meth:`process`.

        Returns:
            dict[str, float]: ``top1``, ``mean_class``, ``many``,
            ``medium``, ``few``.
        """
        counts = self._get_class_counts()
        num_classes = len(counts)
        pred, gt = np.asarray(results, dtype=np.int64).reshape(-1, 2).T
        outside = (gt < 0) | (gt >= num_classes)
        if outside.any():
            raise UserError(
                f'evaluation labels {sorted(set(gt[outside].tolist()))} '
                f'outside [0, {num_classes}) (one class count per training '
                'class): evaluate on a labelled set with the training set\'s '
                'classes, or fix the class counts.')
        correct = (pred == gt).astype(np.float64)
        total = np.bincount(gt, minlength=num_classes)
        hits = np.bincount(gt, weights=correct, minlength=num_classes)
        present = total > 0
        class_acc = np.divide(
            hits, total, out=np.zeros(num_classes), where=present)

        def group_mean(mask: np.ndarray) -> float:
            mask = mask & present
            return float(class_acc[mask].mean() * 100) if mask.any() \
                else float('nan')

        groups = class_groups(counts, self.group_by, self.group_split)
        return dict(
            top1=float(correct.mean() * 100) if correct.size else 0.0,
            mean_class=group_mean(np.ones(num_classes, dtype=bool)),
            many=group_mean(groups == 0),
            medium=group_mean(groups == 1),
            few=group_mean(groups == 2))
