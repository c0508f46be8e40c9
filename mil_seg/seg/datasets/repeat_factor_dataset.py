"""Repeat-factor sampling of training images by their rarest class."""
import copy
from typing import Any

import numpy as np
from mmseg.registry import DATASETS

from mil_seg.errors import UserError
from .class_stats import annotation_only_dataset_cfg, count_label_map


def repeat_factors(presence: np.ndarray, threshold: float) -> np.ndarray:
    """LVIS repeat factors of images from the classes each one contains.

    Gupta et al., "LVIS: A Dataset for Large Vocabulary Instance
    Segmentation", CVPR 2019: with ``f_c`` the fraction of images that
    contain class c, ``r_c = max(1, sqrt(t / f_c))``, and an image repeats
    ``r_i = max_{c in i} r_c`` times (1 for an image without labelled
    pixels).

    Args:
        presence (np.ndarray): (N, C) bool, whether image i contains class
            c.
        threshold (float): ``t``: classes in fewer than this fraction of the
            images are repeated.

    Returns:
        np.ndarray: (N,) float64 repeat factors, all >= 1.
    """
    presence = np.asarray(presence, dtype=bool)
    fraction = presence.mean(axis=0)
    # absent classes (fraction 0) are in no image: their factor is unused
    class_factor = np.maximum(
        1.0, np.sqrt(threshold / np.maximum(fraction, 1e-12)))
    image_factor = np.where(presence, class_factor[None, :], 1.0)
    return image_factor.max(axis=1) if presence.shape[1] else np.ones(
        len(presence))


def repeated_indices(factors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Image indices listed ``floor(r_i)`` times plus once more with
    probability ``r_i - floor(r_i)`` (stochastic rounding).

    Args:
        factors (np.ndarray): (N,) repeat factors.
        seed (int): Seed of the rounding draw. Defaults to 0.

    Returns:
        np.ndarray: The listed indices (int64), in image order.
    """
    rng = np.random.default_rng(seed)
    whole = np.floor(factors)
    extra = rng.random(len(whole)) < factors - whole
    return np.repeat(np.arange(len(whole)), (whole + extra).astype(np.int64))


@DATASETS.register_module()
class RepeatFactorDataset:
    """Dataset wrapper that repeats training images by their rarest class
    (repeat-factor sampling, LVIS; the sampling the LTSS long-tailed
    segmentation benchmark uses). Usable with any loss, GML included.

    Each image's repeat factor comes from :func:`repeat_factors`, on which
    classes its label map contains, read once when the wrapper is built
    (an annotation-only copy of the dataset: the training label handling,
    ``reduce_zero_label`` and ``label_map`` included). The wrapper lists
    image i ``floor(r_i)`` times plus once more with probability
    ``r_i - floor(r_i)`` (stochastic rounding, drawn once with ``seed``, so
    the epoch length is fixed and a resumed run sees the same list). Any
    sampler then shuffles that list.

    Args:
        dataset (dict): Config of the dataset to wrap (a config, not a
            built dataset: its label maps are read through an
            annotation-only copy).
        threshold (float): ``t`` of LVIS: classes present in fewer than
            this fraction of the images are repeated (0 repeats nothing).
        ignore_index (int): Label that no class owns. Defaults to 255.
        seed (int): Seed of the stochastic rounding. Defaults to 0.
    """

    def __init__(self,
                 dataset: dict,
                 threshold: float,
                 ignore_index: int = 255,
                 seed: int = 0) -> None:
        if not isinstance(dataset, dict):
            raise UserError(
                'RepeatFactorDataset takes the dataset as a config dict '
                "(dataset=dict(type='CamVidDataset', ...)), not a built "
                'dataset')
        if not 0.0 <= threshold <= 1.0:
            raise UserError(f'threshold must be in [0, 1] (a fraction of '
                            f'the images), got {threshold}')
        self.dataset = DATASETS.build(copy.deepcopy(dataset))
        self.threshold = threshold
        self.presence = self._read_presence(dataset, ignore_index)
        self.repeat_factors = repeat_factors(self.presence, threshold)
        self.indices = repeated_indices(self.repeat_factors, seed)

    @property
    def metainfo(self) -> dict:
        """dict: The wrapped dataset's meta information."""
        return self.dataset.metainfo

    def _read_presence(self, dataset: dict, ignore_index: int) -> np.ndarray:
        annotations = DATASETS.build(annotation_only_dataset_cfg(dataset))
        num_classes = len(annotations.metainfo['classes'])
        presence = np.zeros((len(annotations), num_classes), dtype=bool)
        for index in range(len(annotations)):
            hist, _ = count_label_map(annotations[index]['gt_seg_map'],
                                      num_classes, ignore_index)
            presence[index] = hist > 0
        return presence

    def get_data_info(self, index: int) -> dict:
        """The annotation of the ``index``-th listed image."""
        return self.dataset.get_data_info(int(self.indices[index]))

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def full_init(self) -> None:
        """The wrapped dataset is built fully at construction."""
