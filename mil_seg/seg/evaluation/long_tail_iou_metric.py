"""IoU metric with head / body / tail (pixel) and frequent / common / rare
(image) class groups from the class prior."""
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

from mil_seg.gml.groups import (FREQUENCY_GROUP_NAMES, GROUP_NAMES,
                                class_groups)
from mil_seg.gml.prior import build_class_prior
from mil_seg.errors import UserError

#: What ``frequency_groups=dict()`` means: LTSS's frequent / common / rare
#: split, the 60 % / 20 % / 20 % of classes by training images (see
#: :func:`~mil_seg.gml.groups.class_groups`).
FREQUENCY_GROUPS_DEFAULT = dict(group_by='rank', group_split=(0.6, 0.8))


def sums_path(output_file: str) -> str:
    """The per-image sums file written beside a per-class result file:
    ``.json`` replaced by ``_sums.npz`` (``per_class.json`` ->
    ``per_class_sums.npz``)."""
    stem = output_file[:-len('.json')] if output_file.endswith(
        '.json') else output_file
    return stem + '_sums.npz'


@METRICS.register_module()
class LongTailIoUMetric(IoUMetric):
    """mIoU, mAcc, aAcc, the mIoU of head / body / tail class groups and,
    if asked, of frequent / common / rare ones.

    The per-class IoU and accuracy are mmseg's :class:`IoUMetric`
    (intersections and unions summed over the whole evaluated set). The
    classes are then split into head, body and tail by the *training* class
    counts (:func:`~mil_seg.gml.groups.class_groups`; by default the
    classes holding the first 50 % of the labelled training pixels are
    head, the next 40 % body, the last 10 % tail), and the mean IoU of each
    group is reported as ``mIoU_head``, ``mIoU_body`` and ``mIoU_tail``.
    The per-class table in the log adds each class's group and prior share.

    Frequent / common / rare (``frequency_groups``): the long-tailed
    segmentation benchmark LTSS (Li et al., "Frequency-based Matcher for
    Long-tailed Semantic Segmentation", TMM 2024; code
    caopulan/Mask2Former-LT) groups classes by *image-level* frequency, the
    number of training images that contain a class, besides pixel-level
    frequency, with the names LVIS gave its groups of detection classes.
    With ``frequency_groups=dict(group_by=..., group_split=...)`` the same :func:`~mil_seg.gml.groups.class_groups`
    runs on the prior's ``image_counts`` and the metric adds
    ``mIoU_frequent``, ``mIoU_common`` and ``mIoU_rare``; keys left out of
    the dict take LTSS's rule, :data:`FREQUENCY_GROUPS_DEFAULT`
    (``group_by='rank', group_split=(0.6, 0.8)``: the 60 % of classes in
    the most training images are frequent, the next 20 % common, the last
    20 % rare). LVIS's absolute thresholds (rare 1-10 images, common
    11-100, frequent > 100) are ``group_by='count', group_split=(100,
    11)``. A prior without image counts (e.g. a file written before they
    existed) is a :class:`UserError` when frequency groups are asked for;
    ``tools/analysis/compute_class_prior.py`` writes them.

    Where the counts come from (``prior``):

    * anything :func:`~mil_seg.gml.prior.build_class_prior` accepts: a
      shipped prior's name (``'ade20k'``, ``'camvid'``) or a path (whose
      class names are checked against the dataset's), a ``ClassPrior``
      dict or a built ``ClassPrior``: its ``counts``;
    * None: counts handed over by :class:`~mil_seg.engine.ClassCountsHook`
      (:meth:`set_class_counts`) before the first validation or test: the
      counts and image counts of the hook's prior file, or those it counts
      over the training set's label maps. Without the hook the groups fall
      back to the pixel counts (and image counts) of the evaluated ground
      truth, with a warning.

    NaN semantics: a class absent from both the ground truth and the
    predictions has no IoU (NaN; shown as nan in the table). Every mean
    (mIoU, mAcc, group means) is a nanmean over the classes that have a
    value, as in mmseg. A group with no class, or none with a value, is
    left out of the returned metrics (a warning says so) rather than
    reported as NaN or a made-up 0. ``nan_to_num`` replaces NaN per-class
    values before all means, as in mmseg.

    Result file (``output_file``): after each evaluation, a JSON file with
    ``classes``, ``per_class`` (``IoU``, ``Acc`` ..., in %, null for NaN),
    ``groups`` (head / body / tail per class), ``group_by``,
    ``group_split``, ``frequency_groups`` (frequent / common / rare per
    class, null when off), ``frequency_group_by``,
    ``frequency_group_split``, ``prior_counts``, ``prior_image_counts``
    (training images per class, null when unknown), ``prior_source``,
    ``gt_pixels`` (evaluated labelled pixels per class), ``gt_images``
    (evaluated images containing each class) and ``metrics`` (the returned
    values) is written, overwriting the previous one (during training: the
    last validation). ``tools/analysis/plot_class_iou.py`` reads it.
    ``per_class`` adds ``Precision`` (intersection over predicted area) to
    mmseg's values; mmseg's ``Acc`` (intersection over labelled area) is
    the recall, and is not repeated under a second name.

    Per-image sums (:func:`sums_path` of ``output_file``, e.g.
    ``per_class_sums.npz`` beside ``per_class.json``, which names it in
    ``per_image_sums``): ``intersection``, ``union``, ``pred_area`` and
    ``label_area`` of every evaluated image and class, arrays (images,
    classes), in evaluation order; ``images`` (each image's path, where the
    data samples give ``img_path``; empty otherwise), ``classes``, and
    ``groups`` / ``frequency_groups`` (each class's group name, empty when
    off), so that a paired bootstrap
    (:func:`mil_seg.benchmark.paired_bootstrap`) resamples images and
    recomputes mIoU and every group's mIoU from them.

    Args:
        prior (str | dict | nn.Module, optional): Source of the training
            class counts, see above. Defaults to None.
        group_by (str): 'share', 'rank' or 'count', see
            :func:`~mil_seg.gml.groups.class_groups`.
            Defaults to 'share'.
        group_split (Tuple[float, float]): The group boundaries.
            Defaults to (0.5, 0.9).
        frequency_groups (dict, optional): ``group_by`` and
            ``group_split`` of the frequent / common / rare groups by image
            counts, see above; ``dict()`` is LTSS's rule. Defaults to None
            (not computed).
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
                 frequency_groups: Optional[dict] = None,
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
        self.frequency_groups = self._frequency_config(frequency_groups)
        self.output_file = output_file
        self._prior_counts: Optional[np.ndarray] = None
        self._prior_image_counts: Optional[np.ndarray] = None
        self._prior_source: Optional[str] = None
        if self.frequency_groups is not None:
            self._check_image_counts(prior)

    @staticmethod
    def _frequency_config(frequency_groups: Optional[dict]) -> Optional[dict]:
        """Validated ``frequency_groups`` with LTSS's defaults filled in."""
        if frequency_groups is None:
            return None
        if not isinstance(frequency_groups, dict) or set(
                frequency_groups) - set(FREQUENCY_GROUPS_DEFAULT):
            raise UserError(
                'frequency_groups must be None or a dict of group_by and '
                f'group_split, got {frequency_groups!r}')
        cfg = dict(FREQUENCY_GROUPS_DEFAULT, **frequency_groups)
        cfg['group_split'] = tuple(cfg['group_split'])
        class_groups([2.0, 1.0], cfg['group_by'], cfg['group_split'])
        return cfg

    def _check_image_counts(self, prior) -> None:
        """Fail at start-up, not at the first validation, when a prior with
        counts has no image counts. A prior that is only sized (e.g.
        ``dict(mode='online')``) is filled later and checked then."""
        if prior is None or (isinstance(prior, dict)
                             and 'file' not in prior
                             and 'counts' not in prior):
            return
        built = build_class_prior(prior)
        if not built.is_empty and not built.has_image_counts:
            raise self._no_image_counts(
                f'file {prior}' if isinstance(prior, str) else
                type(prior).__name__)

    @staticmethod
    def _no_image_counts(source: str) -> UserError:
        return UserError(
            'LongTailIoUMetric: frequency_groups need the number of '
            'training images containing each class, but the prior '
            f'({source}) has no image counts: recompute the prior file with '
            'tools/analysis/compute_class_prior.py CONFIG --out FILE (it '
            'writes "image_counts"), or set frequency_groups=None.')

    @property
    def requires_class_counts(self) -> bool:
        """bool: True while the metric has neither a ``prior`` nor counts
        handed over (:class:`~mil_seg.engine.ClassCountsHook` fills it)."""
        return self.prior is None and self._prior_counts is None

    def set_class_counts(self,
                         counts: Sequence[float],
                         *,
                         image_counts: Optional[Sequence[float]] = None,
                         source: Optional[str] = None) -> None:
        """Set the training class counts that define the groups.

        Called by :class:`~mil_seg.engine.ClassCountsHook`; takes
        precedence over ``prior``.

        Args:
            counts (Sequence[float]): Class counts, (num_classes, ).
            image_counts (Sequence[float], optional): Training images
                containing each class, (num_classes, ) (the frequent /
                common / rare groups). Defaults to None (unknown).
            source (str, optional): Where the counts come from, for the log
                and the result file. Defaults to None ('class counts').
        """
        self._prior_counts = np.asarray(
            counts, dtype=np.float64).ravel().copy()
        self._prior_image_counts = None if image_counts is None else \
            np.asarray(image_counts, dtype=np.float64).ravel().copy()
        self._prior_source = source or 'class counts'

    def _resolve_prior(
        self, num_classes: int, fallback: np.ndarray,
        fallback_images: np.ndarray
    ) -> Tuple[np.ndarray, Optional[np.ndarray], str]:
        """Training class counts, image counts (None if unknown) and a
        description of their source."""
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
            images = prior.image_counts.detach().cpu().numpy() \
                if prior.has_image_counts else None
            self.set_class_counts(
                prior.counts.detach().cpu().numpy(),
                image_counts=images,
                source=source)
        counts = self._prior_counts
        images = self._prior_image_counts
        for values in (counts, images):
            if values is not None and len(values) != num_classes:
                raise UserError(
                    f'The prior ({self._prior_source}) has {len(values)} '
                    f'classes but the dataset {num_classes}: use the prior '
                    'of the training set of this dataset.')
        if counts is None or counts.sum() <= 0:
            why = ('no prior given' if counts is None else
                   f'the prior ({self._prior_source}) has no counts yet')
            print_log(
                f'LongTailIoUMetric: {why}; class groups are taken from the '
                "evaluated ground truth. Set `prior` or add "
                "dict(type='ClassCountsHook') to custom_hooks.", logger,
                level=30)
            return fallback, fallback_images, 'evaluated ground truth'
        if images is not None and images.sum() <= 0:
            images = None
        return counts, images, self._prior_source

    @staticmethod
    def _group_means(iou: np.ndarray, groups: np.ndarray,
                     names: Sequence[str], metrics: Dict[str, float],
                     logger) -> None:
        """Add ``mIoU_<name>`` of every group that has a class with an
        IoU to ``metrics``."""
        for g, name in enumerate(names):
            values = iou[groups == g]
            if np.isnan(values).all():  # also true for an empty group
                print_log(
                    f'LongTailIoUMetric: the {name} group has no class with '
                    'an IoU; mIoU_' + name + ' is not reported.', logger,
                    level=30)
                continue
            metrics[f'mIoU_{name}'] = float(
                np.round(np.nanmean(values) * 100, 2))

    @staticmethod
    def _group_summary(groups: np.ndarray, names: Sequence[str],
                       metrics: Dict[str, float]) -> str:
        return '; '.join(
            f'{name}: {(groups == g).sum()} classes' +
            (f' ({metrics["mIoU_" + name]:.2f})' if 'mIoU_' + name in metrics
             else '') for g, name in enumerate(names))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """mmseg's per-image areas, each with the image's path (where the
        sample has one), so the per-image sums name their images."""
        start = len(self.results)
        super().process(data_batch, data_samples)
        if len(self.results) - start != len(data_samples):
            return  # format_only: nothing appended
        for i, data_sample in enumerate(data_samples):
            self.results[start + i] = (*self.results[start + i],
                                       data_sample.get('img_path'))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics from processed results.

        Args:
            results (list): The processed results of each batch
                (intersection, union, prediction and label areas).

        Returns:
            Dict[str, float]: aAcc, mIoU, mAcc (and mDice... if asked),
            mIoU_head / mIoU_body / mIoU_tail and, with frequency groups,
            mIoU_frequent / mIoU_common / mIoU_rare, in %.
        """
        logger = MMLogger.get_current_instance()
        if self.format_only:
            return super().compute_metrics(results)
        results = tuple(zip(*results))
        names = results[4] if len(results) > 4 else ()
        results = results[:4]
        total_intersect, total_union, total_pred, total_label = (
            sum(r) for r in results)
        ret_metrics = self.total_area_to_metrics(total_intersect, total_union,
                                                 total_pred, total_label,
                                                 self.metrics, self.nan_to_num,
                                                 self.beta)
        class_names = list(self.dataset_meta['classes'])
        num_classes = len(class_names)
        gt_pixels = total_label.numpy().astype(np.float64)
        # images of the evaluated set that contain each class
        gt_images = np.sum([label.numpy() > 0 for label in results[3]],
                           axis=0).astype(np.float64)
        counts, image_counts, source = self._resolve_prior(
            num_classes, gt_pixels, gt_images)
        groups = class_groups(counts, self.group_by, self.group_split)
        frequency = None
        if self.frequency_groups is not None:
            if image_counts is None:
                raise self._no_image_counts(source)
            frequency = class_groups(image_counts, **self.frequency_groups)

        metrics: Dict[str, float] = OrderedDict()
        for key, value in ret_metrics.items():
            mean = float(np.round(np.nanmean(value) * 100, 2))
            metrics[key if key == 'aAcc' else 'm' + key] = mean
        iou = ret_metrics['IoU']
        self._group_means(iou, groups, GROUP_NAMES, metrics, logger)
        if frequency is not None:
            self._group_means(iou, frequency, FREQUENCY_GROUP_NAMES, metrics,
                              logger)

        per_class = OrderedDict(
            (key, np.round(value * 100, 2))
            for key, value in ret_metrics.items() if key != 'aAcc')
        if 'Precision' not in per_class:  # mFscore computes it too
            with np.errstate(invalid='ignore', divide='ignore'):
                precision = total_intersect.numpy() / total_pred.numpy()
            if self.nan_to_num is not None:
                precision = np.nan_to_num(precision, nan=self.nan_to_num)
            per_class['Precision'] = np.round(precision * 100, 2)
        share = counts / counts.sum()
        table = PrettyTable()
        table.add_column('Class', class_names)
        table.add_column('Group', [GROUP_NAMES[g] for g in groups])
        table.add_column('Prior(%)', [f'{100 * s:.3g}' for s in share])
        if image_counts is not None:
            table.add_column('Images', [f'{v:.0f}' for v in image_counts])
        if frequency is not None:
            table.add_column('Frequency',
                             [FREQUENCY_GROUP_NAMES[g] for g in frequency])
        for key, value in per_class.items():
            table.add_column(key, [f'{v:.2f}' for v in value])
        print_log('per class results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        print_log(
            f'class groups by {self.group_by} {self.group_split} of the '
            f'prior ({source}): '
            f'{self._group_summary(groups, GROUP_NAMES, metrics)}', logger)
        if frequency is not None:
            print_log(
                f'frequency groups by {self.frequency_groups["group_by"]} '
                f'{self.frequency_groups["group_split"]} of the image counts '
                f'({source}): '
                + self._group_summary(frequency, FREQUENCY_GROUP_NAMES,
                                      metrics), logger)

        if self.output_file:
            self._write_output(class_names, per_class, groups, frequency,
                               counts, image_counts, source, gt_pixels,
                               gt_images, metrics)
            self._write_sums(results, names, class_names, groups, frequency)
        return metrics

    def _write_sums(self, results: Tuple, names: Sequence[Optional[str]],
                    class_names: List[str], groups: np.ndarray,
                    frequency: Optional[np.ndarray]) -> None:
        """Write the per-image sums (see the class docstring)."""

        def stacked(areas):  # (images, classes)
            return np.stack([a.numpy() for a in areas]).astype(np.float64)

        intersection, union, pred_area, label_area = (
            stacked(areas) for areas in results)
        images = [str(n) for n in names] if names and all(
            n is not None for n in names) else []
        np.savez_compressed(
            sums_path(self.output_file), intersection=intersection,
            union=union, pred_area=pred_area, label_area=label_area,
            images=np.array(images, dtype=str), classes=np.array(
                class_names, dtype=str),
            groups=np.array([GROUP_NAMES[g] for g in groups], dtype=str),
            frequency_groups=np.array(
                [] if frequency is None else
                [FREQUENCY_GROUP_NAMES[g] for g in frequency], dtype=str))

    def _write_output(self, class_names: List[str], per_class: Dict,
                      groups: np.ndarray, frequency: Optional[np.ndarray],
                      counts: np.ndarray, image_counts: Optional[np.ndarray],
                      source: str, gt_pixels: np.ndarray,
                      gt_images: np.ndarray, metrics: Dict) -> None:
        """Write the per-class result JSON (see the class docstring)."""

        def listed(values):
            return [None if np.isnan(v) else float(v) for v in values]

        frequency_cfg = self.frequency_groups or {}
        content = dict(
            classes=class_names,
            per_class={k: listed(v)
                       for k, v in per_class.items()},
            groups=[GROUP_NAMES[g] for g in groups],
            group_by=self.group_by,
            group_split=list(self.group_split),
            frequency_groups=None if frequency is None else
            [FREQUENCY_GROUP_NAMES[g] for g in frequency],
            frequency_group_by=frequency_cfg.get('group_by'),
            frequency_group_split=list(frequency_cfg['group_split'])
            if frequency_cfg else None,
            prior_counts=counts.tolist(),
            prior_image_counts=None
            if image_counts is None else image_counts.tolist(),
            prior_source=source,
            gt_pixels=gt_pixels.tolist(),
            gt_images=gt_images.tolist(),
            metrics=dict(metrics),
            per_image_sums=osp.basename(sums_path(self.output_file)))
        folder = osp.dirname(osp.abspath(self.output_file))
        mkdir_or_exist(folder)
        with open(self.output_file, 'w', encoding='utf-8') as f:
            json.dump(content, f, indent=1)
