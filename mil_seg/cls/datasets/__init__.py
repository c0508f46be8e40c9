"""Long-tailed classification datasets (registered in mmpretrain DATASETS)."""
from .cifar_lt import CIFAR10LT, CIFAR100LT
from .long_tail_list import ImageNetLT, INaturalist2018, LongTailListDataset
from .long_tail_subset import LongTailSubset
from .long_tail_utils import (count_labels, get_class_counts,
                              long_tail_counts, select_long_tail)
from .transforms import TorchAutoAugment

__all__ = [
    'CIFAR10LT', 'CIFAR100LT', 'LongTailSubset', 'LongTailListDataset',
    'ImageNetLT', 'INaturalist2018', 'TorchAutoAugment', 'long_tail_counts',
    'select_long_tail', 'count_labels', 'get_class_counts'
]
