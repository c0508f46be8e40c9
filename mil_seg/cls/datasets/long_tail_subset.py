"""A wrapper that makes any labelled dataset long-tailed."""
import copy
from typing import List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS

from .long_tail_utils import count_labels, long_tail_counts, select_long_tail


@DATASETS.register_module()
class LongTailSubset:
    """Long-tailed subset of any labelled dataset (e.g. an image folder).

    Class c keeps ``floor(n_max * imbalance_factor ** (-c / (C - 1)))``
    samples (see :func:`long_tail_counts`), chosen deterministically by
    ``seed``; samples of a class are ordered by ``img_path`` before the
    shuffle, so the subset does not depend on the file-system listing order.
    Items keep the wrapped dataset's ``sample_idx`` (unique per image).

    Example:
        >>> dataset = dict(
        ...     type='LongTailSubset',
        ...     dataset=dict(type='CustomDataset',
        ...                  data_root='data/cifar10/train', pipeline=[...]),
        ...     imbalance_factor=100, seed=0)

    Args:
        dataset (dict | BaseDataset): The dataset (or its config) to subset.
            Its pipeline is used.
        imbalance_factor (float): ``n_max / n_min``. Defaults to 100.
        profile (str): ``'exp'`` or ``'step'``. Defaults to 'exp'.
        seed (int): Seed of the selection. Defaults to 0.
        max_count (int, optional): ``n_max``, the images kept of class 0.
            Defaults to None (the smallest class size of ``dataset``).
        lazy_init (bool): Defer loading the annotations until first use.
            Defaults to False.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 imbalance_factor: float = 100.,
                 profile: str = 'exp',
                 seed: int = 0,
                 max_count: Optional[int] = None,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        self.dataset = dataset
        self.imbalance_factor = float(imbalance_factor)
        self.profile = profile
        self.seed = seed
        self.max_count = max_count
        self._metainfo = copy.deepcopy(dataset.metainfo)
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """dict: The wrapped dataset's meta information plus
        ``class_counts`` of the subset."""
        if not self._fully_initialized:
            self.full_init()
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Load the wrapped dataset and choose the subset."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        infos = [
            self.dataset.get_data_info(i) for i in range(len(self.dataset))
        ]
        labels = np.array([int(info['gt_label']) for info in infos])
        paths = [str(info.get('img_path', i)) for i, info in enumerate(infos)]
        classes = self.dataset.metainfo.get('classes')
        num_classes = len(classes) if classes else int(labels.max()) + 1
        available = count_labels(labels, num_classes)
        max_count = self.max_count or min(available)
        counts = long_tail_counts(num_classes, max_count,
                                  self.imbalance_factor, self.profile)
        self.indices = select_long_tail(labels, counts, self.seed, paths)
        self._labels = labels[self.indices]
        self._metainfo = copy.deepcopy(self.dataset.metainfo)
        self._metainfo['class_counts'] = count_labels(self._labels,
                                                      num_classes)
        self._fully_initialized = True

    def get_class_counts(self) -> List[int]:
        """list[int]: Number of samples of every class in the subset."""
        return list(self.metainfo['class_counts'])

    def get_gt_labels(self) -> np.ndarray:
        """np.ndarray: Label of every sample of the subset."""
        if not self._fully_initialized:
            self.full_init()
        return self._labels.copy()

    def get_cat_ids(self, idx: int) -> List[int]:
        """Category of the subset's ``idx``-th sample."""
        if not self._fully_initialized:
            self.full_init()
        return [int(self._labels[idx])]

    def get_data_info(self, idx: int) -> dict:
        """Annotation of the subset's ``idx``-th sample."""
        if not self._fully_initialized:
            self.full_init()
        return self.dataset.get_data_info(int(self.indices[idx]))

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        return self.dataset[int(self.indices[idx])]

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self.indices)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(imbalance_factor='
                f'{self.imbalance_factor:g}, profile={self.profile!r}, '
                f'seed={self.seed}, num_samples='
                f'{len(self) if self._fully_initialized else "?"},\n'
                f'  dataset={self.dataset!r})')
