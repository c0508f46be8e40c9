"""Class statistics of a segmentation dataset (the input of a class prior)."""
import copy
import multiprocessing
from typing import Dict, List, Tuple

import numpy as np
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from mil_seg.errors import UserError

#: Transforms kept by :func:`annotation_only_dataset_cfg`.
LOADING_TRANSFORMS = ('LoadAnnotations', )


def _unwrap_dataset_cfg(dataset_cfg: dict) -> dict:
    """Follow dataset wrappers (RepeatDataset, ClassBalancedDataset, ...)
    down to the first dataset that has a pipeline.

    ConcatDataset (``datasets``) is not followed: pass one of its members.
    """
    cfg = dataset_cfg
    while 'pipeline' not in cfg and 'dataset' in cfg:
        cfg = cfg['dataset']
    if 'datasets' in cfg and 'pipeline' not in cfg:
        raise UserError('ConcatDataset is not supported: compute the prior '
                        'of each member dataset separately')
    return cfg


def annotation_only_dataset_cfg(dataset_cfg: dict) -> dict:
    """Copy of a dataset config whose pipeline only loads annotations.

    Dataset wrappers are unwrapped (:func:`_unwrap_dataset_cfg`). Every
    transform of the pipeline except ``LoadAnnotations`` is dropped: image
    loading and all augmentations (resize, crop, flip, photometric) are
    skipped, so each label map is counted once, at its stored resolution,
    after exactly the label handling of training (the dataset's and the
    transform's ``reduce_zero_label``, the dataset's ``label_map`` for a
    class subset). A pipeline without ``LoadAnnotations`` gets a default
    one. Class-balanced resampling wrappers are ignored: the prior describes
    the stored annotations.

    Args:
        dataset_cfg (dict): A dataset config, e.g.
            ``cfg.train_dataloader.dataset``.

    Returns:
        dict: The new config (the input is not modified).
    """
    cfg = copy.deepcopy(_unwrap_dataset_cfg(dict(dataset_cfg)))
    pipeline = [
        t for t in cfg.get('pipeline', [])
        if isinstance(t, dict) and t.get('type') in LOADING_TRANSFORMS
    ]
    cfg['pipeline'] = pipeline or [dict(type='LoadAnnotations')]
    cfg['test_mode'] = False
    cfg['lazy_init'] = False
    return cfg


def count_label_map(label: np.ndarray,
                    num_classes: int,
                    ignore_index: int = 255) -> Tuple[np.ndarray, int]:
    """Pixel histogram of one label map.

    Args:
        label (np.ndarray): Label map of any shape.
        num_classes (int): Number of classes.
        ignore_index (int): Label that is not counted. Defaults to 255.

    Returns:
        Tuple[np.ndarray, int]: Pixel count per class (num_classes, ) as
        int64, and the number of pixels with a label that is neither a
        class nor ``ignore_index`` (also not counted).
    """
    label = np.asarray(label).ravel()
    label = label[label != ignore_index].astype(np.int64)
    hist = np.bincount(label, minlength=num_classes)
    return hist[:num_classes], int(hist[num_classes:].sum())


_WORKER: Dict = {}


def _init_worker(dataset_cfg: dict, scope: str, num_classes: int,
                 ignore_index: int) -> None:
    """Build the annotation-only dataset once per worker process."""
    import mil_seg  # noqa: F401  (registers the datasets in the worker)
    from mmseg.registry import DATASETS
    init_default_scope(scope)
    _WORKER.update(
        dataset=DATASETS.build(dataset_cfg),
        num_classes=num_classes,
        ignore_index=ignore_index)


def _count_one(index: int) -> Tuple[np.ndarray, int]:
    results = _WORKER['dataset'][index]
    return count_label_map(results['gt_seg_map'], _WORKER['num_classes'],
                           _WORKER['ignore_index'])


def compute_class_counts(dataset_cfg: dict,
                         ignore_index: int = 255,
                         workers: int = 1,
                         scope: str = 'mmseg',
                         show_progress: bool = True) -> Dict:
    """Count labelled pixels and images per class over a dataset.

    The dataset is built from ``dataset_cfg`` with an annotation-only
    pipeline (:func:`annotation_only_dataset_cfg`), and every label map is
    counted, in ``workers`` processes, with a progress bar.

    Args:
        dataset_cfg (dict): Dataset config (e.g. the train dataset).
        ignore_index (int): Label that is not counted. Defaults to 255.
        workers (int): Number of worker processes; 0 or 1 counts in this
            process. Defaults to 1.
        scope (str): Default registry scope. Defaults to 'mmseg'.
        show_progress (bool): Whether to show a progress bar.
            Defaults to True.

    Returns:
        dict: ``classes`` (list of names), ``pixel_counts`` and
        ``image_counts`` (int64 arrays, (num_classes, ); an image counts for
        a class when at least one of its pixels has that label),
        ``num_samples`` (number of images) and ``num_out_of_range`` (pixels
        with a label that is neither a class nor ``ignore_index``).
    """
    import mil_seg  # noqa: F401
    from mmseg.registry import DATASETS
    cfg = annotation_only_dataset_cfg(dataset_cfg)
    init_default_scope(scope)
    dataset = DATASETS.build(cfg)
    classes: List[str] = list(dataset.metainfo['classes'])
    num_classes = len(classes)
    num = len(dataset)
    pixel_counts = np.zeros(num_classes, dtype=np.int64)
    image_counts = np.zeros(num_classes, dtype=np.int64)
    out_of_range = 0
    bar = ProgressBar(num) if show_progress and num else None

    def add(result: Tuple[np.ndarray, int]) -> None:
        nonlocal out_of_range
        hist, bad = result
        pixel_counts[:] += hist
        image_counts[:] += hist > 0
        out_of_range += bad
        if bar is not None:
            bar.update()

    if workers > 1 and num > 1:
        with multiprocessing.Pool(
                workers,
                initializer=_init_worker,
                initargs=(cfg, scope, num_classes, ignore_index)) as pool:
            chunksize = max(1, min(32, num // (4 * workers)))
            for result in pool.imap_unordered(
                    _count_one, range(num), chunksize=chunksize):
                add(result)
    else:
        for index in range(num):
            add(
                count_label_map(dataset[index]['gt_seg_map'], num_classes,
                                ignore_index))
    if bar is not None:
        print()
    return dict(
        classes=classes,
        pixel_counts=pixel_counts,
        image_counts=image_counts,
        num_samples=num,
        num_out_of_range=out_of_range)


def write_class_prior(path: str,
                      stats: Dict,
                      count_type: str = 'pixel') -> None:
    """Write the statistics of :func:`compute_class_counts` as a prior file.

    The file's ``counts`` are those of ``count_type``; its ``image_counts``
    always hold the images containing each class (the metric's frequent /
    common / rare groups read them, whichever counts the prior uses).

    Args:
        path (str): Output JSON path (ClassPrior format).
        stats (dict): Output of :func:`compute_class_counts`.
        count_type (str): 'pixel' (labelled pixels per class) or 'image'
            (images containing the class). Defaults to 'pixel'.
    """
    if count_type not in ('pixel', 'image'):
        raise UserError(f'count_type must be pixel or image, got '
                        f'{count_type!r}')
    from mil_seg.gml import ClassPrior
    ClassPrior.write_file(
        path,
        stats[f'{count_type}_counts'],
        classes=list(stats['classes']),
        count_type=count_type,
        num_samples=int(stats['num_samples']),
        image_counts=stats['image_counts'])
