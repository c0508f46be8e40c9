"""Convert CamVid from the SegNet release layout to the MMSegmentation one."""
import os
import os.path as osp
import shutil
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import mkdir_or_exist, track_parallel_progress, \
    track_progress
from PIL import Image

from mil_seg.errors import MissingFileError, UserError

#: Label of unlabelled pixels in the SegNet release.
CAMVID_UNLABELLED = 11
#: Number of real CamVid classes (labels 0-10).
CAMVID_NUM_CLASSES = 11


def _split_pairs(src: str, split: str) -> List[Tuple[str, str]]:
    """List the (image, annotation) pairs of one split of the SegNet layout.

    ``{split}.txt`` is used when present. Its lines hold two paths, an image
    and its annotation; the public release writes them as absolute paths of
    the authors' machine (``/SegNet/CamVid/train/x.png``), so only the last
    two components (folder and file name) are used, relative to ``src``.
    Without a list file, ``{split}/`` and ``{split}annot/`` are paired by
    file name.
    """
    list_file = osp.join(src, f'{split}.txt')
    pairs = []
    if osp.isfile(list_file):
        with open(list_file, encoding='utf-8') as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise UserError(
                        f'{list_file}: expected "image annotation", got '
                        f'{line!r}')
                img, ann = (
                    osp.join(src, osp.basename(osp.dirname(p)),
                             osp.basename(p)) for p in parts)
                pairs.append((img, ann))
    else:
        img_dir = osp.join(src, split)
        ann_dir = osp.join(src, f'{split}annot')
        for name in sorted(os.listdir(img_dir)):
            if name.lower().endswith('.png'):
                pairs.append(
                    (osp.join(img_dir, name), osp.join(ann_dir, name)))
    for img, ann in pairs:
        for path in (img, ann):
            if not osp.isfile(path):
                raise MissingFileError(f'{path} (split {split}) is missing')
    return pairs


def _convert_pair(pair: Tuple[str, str], img_out: str,
                  ann_out: str) -> int:
    """Copy one image and write its annotation with 11 (and above) -> 255.

    Returns:
        int: Number of pixels whose label was out of range (> 11), which
        are also mapped to 255.
    """
    img, ann = pair
    stem = osp.splitext(osp.basename(img))[0]
    if img.lower().endswith('.png'):
        shutil.copyfile(img, osp.join(img_out, stem + '.png'))
    else:
        Image.open(img).convert('RGB').save(osp.join(img_out, stem + '.png'))
    label = np.array(Image.open(ann))
    if label.ndim == 3:  # a label map saved as RGB holds the label thrice
        label = label[..., 0]
    out = label.astype(np.uint8)
    bad = int((label > CAMVID_UNLABELLED).sum())
    out[label >= CAMVID_UNLABELLED] = 255
    Image.fromarray(out, mode='L').save(osp.join(ann_out, stem + '.png'))
    return bad


def convert_camvid(src: str,
                   dst: str,
                   splits: Optional[Sequence[str]] = None,
                   nproc: int = 1) -> Dict[str, int]:
    """Convert CamVid from the SegNet release layout to the mmseg layout.

    Input (the public SegNet tutorial release, or a resized copy of it with
    the same layout)::

        src/train/, trainannot/, val/, valannot/, test/, testannot/,
            train.txt, val.txt, test.txt      # lists are optional

    Output (read by :class:`CamVidDataset`)::

        dst/img_dir/{split}/NAME.png          # images, copied
        dst/ann_dir/{split}/NAME.png          # labels 0-10, 255 unlabelled

    Label 11 (unlabelled) is mapped to 255, the ignore index.

    Args:
        src (str): Root of the SegNet layout.
        dst (str): Root of the output layout.
        splits (Sequence[str], optional): Splits to convert. Defaults to
            None: every one of train, val and test whose image folder (or
            list file) exists in ``src``.
        nproc (int): Number of worker processes. Defaults to 1.

    Returns:
        Dict[str, int]: Number of converted pairs per split.
    """
    if splits is None:
        splits = [
            s for s in ('train', 'val', 'test')
            if osp.isdir(osp.join(src, s)) or osp.isfile(
                osp.join(src, f'{s}.txt'))
        ]
        if not splits:
            raise MissingFileError(
                f'{src} holds none of train/, val/, test/: not a SegNet '
                'CamVid layout')
    done = {}
    for split in splits:
        pairs = _split_pairs(src, split)
        img_out = osp.join(dst, 'img_dir', split)
        ann_out = osp.join(dst, 'ann_dir', split)
        mkdir_or_exist(img_out)
        mkdir_or_exist(ann_out)
        func = partial(_convert_pair, img_out=img_out, ann_out=ann_out)
        if nproc > 1:
            bad = track_parallel_progress(func, pairs, nproc)
        else:
            bad = track_progress(func, pairs)
        if sum(bad):
            print(f'\n{split}: {sum(bad)} pixels had labels above '
                  f'{CAMVID_UNLABELLED}; they were set to 255')
        done[split] = len(pairs)
    return done
