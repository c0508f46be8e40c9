"""IoU metric with head / body / tail class groups from the class prior."""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.utils import mkdir_or_exist
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS
from prettytable import PrettyTable

from mil_seg.gml.groups import GROUP_NAMES, class_groups
from mil_seg.gml.prior import build_class_prior
from mil_seg.launch.errors import UserError


@METRICS.register_module()
class LongTailIoUMetric(IoUMetric):
    """mIoU, mAcc, aAcc and the mIoU of head / body / tail class groups.

    The per-class IoU and accuracy are mmseg's :class:`IoUMetric`
    (intersections and unions summed over the whole evaluated set). The
    classes are then split into head, body and tail by the *training* class
    counts (:func:`~mil_seg.gml.groups.class_groups`; by default the
    classes holding the first 50 % of the labelled training pixels are
    head, the next 40 % body, the last 10 % tail), and the mean IoU of each
    group is reported as ``mIoU_head``, ``mIoU_body`` and ``mIoU_tail``.
    The per-class table in the log adds each class's group and prior share.

    Where the counts come from (``prior``):

    * anything :func:`~mil_seg.gml.prior.build_class_prior` accepts: a
      shipped prior's name (``'ade20k'``, ``'camvid'``) or a path (whose
      class names are checked against the dataset's), a ``ClassPrior``
      dict or a built ``ClassPrior``: its ``counts``;
    * None: counts handed over by :class:`PriorToMetricHook`, which copies
      the counts of the model's ``ClassPrior`` (e.g. an online prior
      accumulated during training, restored from the checkpoint at test
      time) before every validation / test run. Without the hook, or while
      the handed-over counts are all zero, the groups fall back to the pixel
      counts of the evaluated ground truth, with a warning.

    NaN semantics: a class absent from both the ground truth and the
    predictions has no IoU (NaN; shown as nan in the table). Every mean
    (mIoU, mAcc, group means) is a nanmean over the classes that have a
    value, as in mmseg. A group with no class, or none with a value, is
    left out of the returned metrics (a warning says so) rather than
    reported as NaN or a made-up 0. ``nan_to_num`` replaces NaN per-class
    values before all means, as in mmseg.

    Result file (``output_file``): after each evaluation, a JSON file with
    ``classes``, ``per_class`` (``IoU``, ``Acc`` ..., in %, null for NaN),
    ``groups`` (group name per class), ``group_by``, ``group_split``,
    ``prior_counts``, ``prior_source``, ``gt_pixels`` (evaluated labelled
    pixels per class) and ``metrics`` (the returned values) is written,
    overwriting the previous one (during training: the last validation).
    ``tools/analysis/plot_class_iou.py`` reads it.

    Args:
        prior (str | dict | nn.Module, optional): Source of the training
            class counts, see above. Defaults to None.
        group_by (str): 'share', 'rank' or 'count', see
            :func:`~mil_seg.gml.groups.class_groups`.
            Defaults to 'share'.
        group_split (Tuple[float, float]): The group boundaries.
            Defaults to (0.5, 0.9).
        output_file (str, optional): Path of the per-class result JSON.
            Defaults to None (not written).
        ignore_index (int): Index that will be ignored in evaluation.
            Defaults to 255.
        iou_metrics (List[str]): Metrics of :class:`IoUMetric`; 'mIoU' is
            always computed. Defaults to ['mIoU'].
        **kwargs: Other arguments of :class:`mmseg.evaluation.IoUMetric`
            (``nan_to_num``, ``beta``, ``collect_device``, ``output_dir``,
            ``format_only``, ``prefix``).
    """

    def __init__(self,
                 prior: Optional[Union[str, dict, nn.Module]] = None,
                 group_by: str = 'share',
                 group_split: Tuple[float, float] = (0.5, 0.9),
                 output_file: Optional[str] = None,
                 ignore_index: int = 255,
                 iou_metrics: Sequence[str] = ('mIoU', ),
                 **kwargs) -> None:
        iou_metrics = [iou_metrics] if isinstance(iou_metrics,
                                                  str) else list(iou_metrics)
        if 'mIoU' not in iou_metrics:
            iou_metrics.insert(0, 'mIoU')
        super().__init__(
            ignore_index=ignore_index, iou_metrics=iou_metrics, **kwargs)
        # validate the grouping arguments early
        class_groups([2.0, 1.0], group_by, group_split)
        self.prior = prior
        self.group_by = group_by
        self.group_split = tuple(group_split)
        self.output_file = output_file
        self._prior_counts: Optional[np.ndarray] = None
        self._prior_source: Optional[str] = None

    def set_class_counts(self,
                         counts: Sequence[float],
                         source: str = 'model') -> None:
        """Set the training class counts that define the groups.

        Called by :class:`PriorToMetricHook`; takes precedence over
        ``prior`` until ``prior`` is read again.

        Args:
            counts (Sequence[float]): Class counts, (num_classes, ).
            source (str): Description used in the log. Defaults to 'model'.
        """
        self._prior_counts = np.asarray(
            counts, dtype=np.float64).ravel().copy()
        self._prior_source = source

    def _resolve_prior(self, num_classes: int,
                       fallback: np.ndarray) -> Tuple[np.ndarray, str]:
        """Training class counts and a description of their source."""
        logger = MMLogger.get_current_instance()
        if self._prior_counts is None and self.prior is not None:
            prior = self.prior
            source = type(prior).__name__
            if isinstance(prior, str):
                # The file's class names are checked against the dataset's.
                source = f'file {prior}'
                prior = dict(
                    file=prior, class_names=self.dataset_meta['classes'])
            prior = build_class_prior(prior, num_classes)
            self.set_class_counts(prior.counts.detach().cpu().numpy(), source)
        counts = self._prior_counts
        if counts is not None and len(counts) != num_classes:
            raise UserError(
                f'The prior ({self._prior_source}) has {len(counts)} classes '
                f'but the dataset {num_classes}: use the prior of the '
                'training set of this dataset.')
        if counts is None or counts.sum() <= 0:
            why = ('no prior given' if counts is None else
                   f'the prior ({self._prior_source}) has no counts yet')
            print_log(
                f'LongTailIoUMetric: {why}; head/body/tail groups are taken '
                'from the evaluated ground truth. Set `prior` or add '
                'PriorToMetricHook.', logger, level=30)
            return fallback, 'evaluated ground truth'
        return counts, self._prior_source

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics from processed results.

        Args:
            results (list): The processed results of each batch
                (intersection, union, prediction and label areas).

        Returns:
            Dict[str, float]: aAcc, mIoU, mAcc (and mDice... if asked), and
            mIoU_head / mIoU_body / mIoU_tail, in %.
        """
        logger = MMLogger.get_current_instance()
        if self.format_only:
            return super().compute_metrics(results)
        results = tuple(zip(*results))
        total_intersect, total_union, total_pred, total_label = (
            sum(r) for r in results)
        ret_metrics = self.total_area_to_metrics(total_intersect, total_union,
                                                 total_pred, total_label,
                                                 self.metrics, self.nan_to_num,
                                                 self.beta)
        class_names = list(self.dataset_meta['classes'])
        num_classes = len(class_names)
        gt_pixels = total_label.numpy().astype(np.float64)
        counts, source = self._resolve_prior(num_classes, gt_pixels)
        groups = class_groups(counts, self.group_by, self.group_split)

        metrics: Dict[str, float] = OrderedDict()
        for key, value in ret_metrics.items():
            mean = float(np.round(np.nanmean(value) * 100, 2))
            metrics[key if key == 'aAcc' else 'm' + key] = mean
        iou = ret_metrics['IoU']
        for g, name in enumerate(GROUP_NAMES):
            values = iou[groups == g]
            if np.isnan(values).all():  # also true for an empty group
                print_log(
                    f'LongTailIoUMetric: the {name} group has no class with '
                    'an IoU; mIoU_' + name + ' is not reported.', logger,
                    level=30)
                continue
            metrics[f'mIoU_{name}'] = float(
                np.round(np.nanmean(values) * 100, 2))

        per_class = OrderedDict(
            (key, np.round(value * 100, 2))
            for key, value in ret_metrics.items() if key != 'aAcc')
        share = counts / counts.sum()
        table = PrettyTable()
        table.add_column('Class', class_names)
        table.add_column('Group', [GROUP_NAMES[g] for g in groups])
        table.add_column('Prior(%)', [f'{100 * s:.3g}' for s in share])
        for key, value in per_class.items():
            table.add_column(key, [f'{v:.2f}' for v in value])
        print_log('per class results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        summary = '; '.join(
            f'{name}: {(groups == g).sum()} classes' +
            (f' ({metrics["mIoU_" + name]:.2f})' if 'mIoU_' + name in metrics
             else '') for g, name in enumerate(GROUP_NAMES))
        print_log(
            f'class groups by {self.group_by} {self.group_split} of the '
            f'prior ({source}): {summary}', logger)

        if self.output_file:
            self._write_output(class_names, per_class, groups, counts, source,
                               gt_pixels, metrics)
        return metrics

    def _write_output(self, class_names: List[str], per_class: Dict,
                      groups: np.ndarray, counts: np.ndarray, source: str,
                      gt_pixels: np.ndarray, metrics: Dict) -> None:
        """Write the per-class result JSON (see the class docstring)."""

        def listed(values):
            return [None if np.isnan(v) else float(v) for v in values]

        content = dict(
            classes=class_names,
            per_class={k: listed(v)
                       for k, v in per_class.items()},
            groups=[GROUP_NAMES[g] for g in groups],
            group_by=self.group_by,
            group_split=list(self.group_split),
            prior_counts=counts.tolist(),
            prior_source=source,
            gt_pixels=gt_pixels.tolist(),
            metrics=dict(metrics))
        folder = osp.dirname(osp.abspath(self.output_file))
        mkdir_or_exist(folder)
        with open(self.output_file, 'w', encoding='utf-8') as f:
            json.dump(content, f, indent=1)
