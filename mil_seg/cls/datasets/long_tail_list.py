"""Long-tailed datasets given as ``path label`` lists (ImageNet-LT, iNat)."""
from typing import List, Optional

from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from .long_tail_utils import ClassCountsMixin, count_labels


@DATASETS.register_module()
class LongTailListDataset(ClassCountsMixin, CustomDataset):
    """A dataset read from a ``relative/path.jpg label`` list, with counts.

    The public split files of ImageNet-LT (Liu et al., 2019) and of
    iNaturalist 2018 (as distributed with the decoupling / GML code) have this
    format. The per-class counts of the list are in
    ``metainfo['class_counts']`` and :meth:`get_class_counts`.

    Args:
        data_root (str): Root the image paths are relative to (joined with
            ``data_prefix``) and ``ann_file`` too. Defaults to ''.
        ann_file (str): The ``path label`` list. Defaults to ''.
        data_prefix (str | dict): Prefix of the image paths. Defaults to ''.
        num_classes (int, optional): Number of classes when ``metainfo``
            gives no class names; classes are then named ``'0'``,
            ``'1'``... Defaults to None (class names required, or the largest
            label + 1).
        **kwargs: Other arguments of :class:`mmpretrain.datasets.
            CustomDataset`.
    """

    NUM_CLASSES: Optional[int] = None

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix='',
                 num_classes: Optional[int] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        num_classes = num_classes or self.NUM_CLASSES
        if num_classes is not None and not (metainfo or {}).get(
                'classes') and not (self.METAINFO or {}).get('classes'):
            metainfo = dict(metainfo or {})
            metainfo['classes'] = tuple(str(i) for i in range(num_classes))
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the list and record its class counts."""
        data_list = super().load_data_list()
        labels = [info['gt_label'] for info in data_list]
        classes = self.CLASSES
        num_classes = len(classes) if classes else max(labels) + 1
        self._metainfo['class_counts'] = count_labels(labels, num_classes)
        return data_list


@DATASETS.register_module()
class ImageNetLT(LongTailListDataset):
    """ImageNet-LT (Liu et al., CVPR 2019): 1000 classes, 5 to 1280 training
    images per class, read from ``ImageNet_LT_{train,val,test}.txt``.

    Example:
        >>> dict(type='ImageNetLT', data_root='data/imagenet',
        ...      ann_file='ImageNet_LT_train.txt')

    Args:
        **kwargs: See :class:`LongTailListDataset`.
    """

    METAINFO = {'classes': IMAGENET_CATEGORIES}


@DATASETS.register_module()
class INaturalist2018(LongTailListDataset):
    """iNaturalist 2018: 8142 species, read from ``iNaturalist18_{train,
    val}.txt``. Classes are named by their index.

    Example:
        >>> dict(type='INaturalist2018', data_root='data/inat2018',
        ...      ann_file='iNaturalist18_train.txt')

    Args:
        **kwargs: See :class:`LongTailListDataset`.
    """

    NUM_CLASSES = 8142
