"""A tiny SegNet-layout CamVid, for the CamVid tests of this folder."""
import os
import os.path as osp

import numpy as np
from PIL import Image


def make_segnet_layout(root, with_lists, rng):
    """A tiny SegNet-layout CamVid: train 3, val 2, test 1 pairs."""
    pairs = {}
    for split, num in (('train', 3), ('val', 2), ('test', 1)):
        os.makedirs(osp.join(root, split))
        os.makedirs(osp.join(root, f'{split}annot'))
        lines = []
        for i in range(num):
            name = f'0001TP_{split}{i:03d}.png'
            img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
            label = rng.integers(0, 12, (6, 8), dtype=np.uint8)
            label[0, 0] = 11  # at least one unlabelled pixel
            Image.fromarray(img).save(osp.join(root, split, name))
            Image.fromarray(label).save(
                osp.join(root, f'{split}annot', name))
            pairs[(split, name)] = (img, label)
            # the public lists hold absolute paths of the authors' machine
            lines.append(f'/SegNet/CamVid/{split}/{name} '
                         f'/SegNet/CamVid/{split}annot/{name}\n')
        if with_lists:
            with open(osp.join(root, f'{split}.txt'), 'w') as f:
                f.writelines(lines)
    return pairs
