"""CIFAR-10-LT and CIFAR-100-LT read from the standard CIFAR python batches."""
from typing import List, Optional

from mmengine.fileio import exists, join_path
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

from .long_tail_utils import (ClassCountsMixin, count_labels, long_tail_counts,
                              select_long_tail)


class _CIFARLTMixin(ClassCountsMixin):
    """Long-tail selection shared by :class:`CIFAR10LT` and
    :class:`CIFAR100LT`; see their docstrings."""

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 imbalance_factor: float = 100.,
                 profile: str = 'exp',
                 seed: int = 0,
                 max_count: Optional[int] = None,
                 check_md5: bool = True,
                 **kwargs) -> None:
        self.imbalance_factor = float(imbalance_factor)
        self.profile = profile
        self.seed = seed
        self.max_count = max_count
        self.check_md5 = check_md5
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load the split; on ``split='train'`` keep the long-tailed subset
        and record the class counts in ``metainfo['class_counts']``."""
        data_list = super().load_data_list()
        labels = [info['gt_label'] for info in data_list]
        num_classes = len(self.CLASSES)
        if self.split == 'train':
            available = count_labels(labels, num_classes)
            max_count = self.max_count or min(available)
            counts = long_tail_counts(num_classes, max_count,
                                      self.imbalance_factor, self.profile)
            keep = select_long_tail(labels, counts, self.seed)
            data_list = [data_list[i] for i in keep]
            labels = [labels[i] for i in keep]
        self._metainfo['class_counts'] = count_labels(labels, num_classes)
        return data_list

    def _check_integrity(self) -> bool:
        """Check the batch files exist (and their md5 if ``check_md5``)."""
        if self.check_md5:
            return super()._check_integrity()
        root = self.data_prefix['root']
        return all(
            exists(join_path(root, self.base_folder, name))
            for name, _ in self.train_list + self.test_list)

    def _load_meta(self) -> None:
        if self.check_md5:
            return super()._load_meta()
        meta, self.meta = self.meta, dict(self.meta, md5=None)
        try:
            super()._load_meta()
        finally:
            self.meta = meta

    def extra_repr(self) -> List[str]:
        body = super().extra_repr()
        if self.split == 'train':
            body.append(f'Imbalance factor: \t{self.imbalance_factor:g} '
                        f'({self.profile}, seed {self.seed})')
        return body


_ARGS_DOC = """
    Only ``split='train'`` is made long-tailed: class c keeps
    ``floor(n_max * imbalance_factor ** (-c / (C - 1)))`` images (the
    ``'exp'`` profile; ``'step'`` is also offered), chosen deterministically
    by ``seed`` (see :func:`select_long_tail`; ``seed=0`` gives the usual
    LDAM split). ``split='test'`` stays the balanced test set. Either way the
    split's per-class counts are in ``metainfo['class_counts']`` and
    :meth:`get_class_counts`.

    Args:
        data_root (str): Folder holding the python batches folder.
        split (str): ``'train'`` or ``'test'``. Defaults to 'train'.
        imbalance_factor (float): ``n_max / n_min``. Defaults to 100.
        profile (str): ``'exp'`` or ``'step'``. Defaults to 'exp'.
        seed (int): Seed of the subset selection. Defaults to 0.
        max_count (int, optional): ``n_max``. Defaults to None (the
            smallest class size of the full split: 5000 / 500).
        check_md5 (bool): Check the md5 sums of the batch files (set False
            for re-generated or partial batches). Defaults to True.
        **kwargs: Other arguments of the mmpretrain CIFAR dataset
            (``download``, ``pipeline``, ``test_mode``...).
"""


@DATASETS.register_module()
class CIFAR10LT(_CIFARLTMixin, CIFAR10):
    __doc__ = 'CIFAR-10-LT: long-tailed CIFAR-10.\n' + _ARGS_DOC


@DATASETS.register_module()
class CIFAR100LT(_CIFARLTMixin, CIFAR100):
    __doc__ = 'CIFAR-100-LT: long-tailed CIFAR-100.\n' + _ARGS_DOC
