"""Clothing Co-Parsing (CCP, 59 classes) in the MMSegmentation layout."""
from typing import List

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

#: The 59 class names of the CCP release, in label id order, as its
#: ``label_list.mat`` holds them (id 0, ``null``, is the background).
CCP_CLASSES = (
    'null', 'accessories', 'bag', 'belt', 'blazer', 'blouse', 'bodysuit',
    'boots', 'bra', 'bracelet', 'cape', 'cardigan', 'clogs', 'coat', 'dress',
    'earrings', 'flats', 'glasses', 'gloves', 'hair', 'hat', 'heels',
    'hoodie', 'intimate', 'jacket', 'jeans', 'jumper', 'leggings', 'loafers',
    'necklace', 'panties', 'pants', 'pumps', 'purse', 'ring', 'romper',
    'sandals', 'scarf', 'shirt', 'shoes', 'shorts', 'skin', 'skirt',
    'sneakers', 'socks', 'stockings', 'suit', 'sunglasses', 'sweater',
    'sweatshirt', 'swimwear', 't-shirt', 'tie', 'tights', 'top', 'vest',
    'wallet', 'watch', 'wedges')


def label_colormap(num_classes: int) -> List[List[int]]:
    """The PASCAL VOC colour map: distinct colours from the bits of the
    label id (id 0 black), as VOC and the human-parsing sets (LIP, ATR)
    draw their labels.

    Args:
        num_classes (int): Number of colours (at most 256 are distinct).

    Returns:
        List[List[int]]: ``num_classes`` RGB triples.
    """
    palette = []
    for label in range(num_classes):
        rgb = [0, 0, 0]
        for shift in range(8):
            for channel in range(3):
                rgb[channel] |= ((label >> (3 * shift + channel)) & 1) << (
                    7 - shift)
        palette.append(rgb)
    return palette


@DATASETS.register_module()
class CCPDataset(BaseSegDataset):
    """Clothing Co-Parsing (Yang, Luo, Lin, CVPR 2014): 59 classes.

    The expected layout is the one written by
    ``tools/dataset_converters/ccp.py``::

        data_root/
          img_dir/{train,val,test}/NNNN.png
          ann_dir/{train,val,test}/NNNN.png   # label ids 0-58

    Every pixel is labelled: id 0 (``null``) is the background, a real
    class, so ``reduce_zero_label`` stays False.

    Args:
        img_suffix (str): Suffix of images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of annotations. Defaults to '.png'.
        reduce_zero_label (bool): Whether to mark label zero as ignored.
            Defaults to False.
        **kwargs: Other arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=CCP_CLASSES, palette=label_colormap(len(CCP_CLASSES)))

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
