"""CamVid (SegNet release, 11 classes) in the MMSegmentation layout."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid dataset as published with SegNet (11 classes).

    The expected layout is the one written by
    ``tools/dataset_converters/camvid.py``::

        data_root/
          img_dir/{train,val,test}/*.png
          ann_dir/{train,val,test}/*.png   # 0-10 classes, 255 unlabelled

    The SegNet release marks unlabelled pixels with 11; the converter maps
    them to 255 so that they are ignored (``ignore_index=255``).
    ``reduce_zero_label`` stays False: label 0 (sky) is a real class.

    Args:
        img_suffix (str): Suffix of images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of annotations. Defaults to '.png'.
        reduce_zero_label (bool): Whether to mark label zero as ignored.
            Defaults to False.
        **kwargs: Other arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=('sky', 'building', 'pole', 'road', 'pavement', 'tree',
                 'sign-symbol', 'fence', 'car', 'pedestrian', 'bicyclist'),
        # SegNet's colour coding of the classes.
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128],
                 [128, 64, 128], [60, 40, 222], [128, 128, 0],
                 [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
                 [0, 128, 192]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)
