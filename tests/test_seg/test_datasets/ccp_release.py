"""A tiny fake CCP release (the layout of bearpaw/clothing-co-parsing),
for the CCP tests of this folder."""
import json
import os
import os.path as osp
from typing import Dict, Sequence

import numpy as np
import scipy.io
from PIL import Image

from mil_seg.seg.datasets import CCP_CLASSES

#: Photo size (w, h) of the fake release: 1/3 of it is 4x6.
SIZE = (12, 18)
#: The fake split: train and val have photos, test has none (as in the
#: benchmark copy), only annotations.
SPLIT = dict(
    train=['0001', '0002', '0003'], val=['0004', '0005'],
    test=['0006', '0007'])


def write_annotation(path: str, label: np.ndarray, **extra) -> None:
    """An annotation ``.mat`` as the release writes it."""
    scipy.io.savemat(path, dict(groundtruth=label, **extra))


def make_ccp_release(root: str,
                     rng: np.random.Generator,
                     split: Dict[str, Sequence[str]] = SPLIT,
                     without_photos: Sequence[str] = ('test', )) -> Dict:
    """Write a fake release into ``root`` and its split to
    ``root/split.json``.

    Returns:
        dict: id -> (photo as decoded from its JPEG, label map).
    """
    photos = osp.join(root, 'photos')
    annotations = osp.join(root, 'annotations', 'pixel-level')
    os.makedirs(photos)
    os.makedirs(annotations)
    names = np.empty((1, len(CCP_CLASSES)), dtype=object)
    names[0, :] = list(CCP_CLASSES)
    scipy.io.savemat(osp.join(root, 'label_list.mat'), dict(label_list=names))
    pairs = {}
    for name, ids in split.items():
        for i in ids:
            width, height = SIZE
            label = rng.integers(0, len(CCP_CLASSES), (height, width),
                                 dtype=np.uint8)
            label[0, 0], label[-1, -1] = 0, len(CCP_CLASSES) - 1
            write_annotation(osp.join(annotations, f'{i}.mat'), label)
            photo = None
            if name not in without_photos:
                path = osp.join(photos, f'{i}.jpg')
                Image.fromarray(
                    rng.integers(0, 256, (height, width, 3),
                                 dtype=np.uint8)).save(path)
                photo = np.array(Image.open(path).convert('RGB'))
            pairs[i] = (photo, label)
    with open(osp.join(root, 'split.json'), 'w', encoding='utf-8') as f:
        json.dump(split, f)
    return pairs
