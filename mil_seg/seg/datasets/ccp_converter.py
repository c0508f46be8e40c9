"""Convert Clothing Co-Parsing (CCP) from its release layout to the
MMSegmentation one, at a chosen scale."""
import json
import math
import multiprocessing
import os
import os.path as osp
import re
import shutil
import tempfile
from fractions import Fraction
from functools import partial
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.utils import ProgressBar
from PIL import Image, UnidentifiedImageError

from mil_seg.errors import MissingFileError, UserError
from .ccp import CCP_CLASSES

#: The split shipped with the package (ids of train 600, val 150, test 254).
CCP_SPLIT_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'ccp_split.json')
#: Default scale: one third of the release's 550 x ~830 photos (~183x277).
CCP_DEFAULT_SCALE = 1 / 3
#: Folders and files of the release (bearpaw/clothing-co-parsing).
CCP_PHOTO_DIR = 'photos'
CCP_ANNOTATION_DIR = osp.join('annotations', 'pixel-level')
CCP_LABEL_LIST = 'label_list.mat'
#: The variable of an annotation ``.mat`` that holds the label map.
CCP_LABEL_VARIABLE = 'groundtruth'

_ID = re.compile(r'^[A-Za-z0-9_-]+$')
_RELEASE = 'the CCP release (github.com/bearpaw/clothing-co-parsing)'
_FIX_RELEASE = f'restore it from {_RELEASE}'


def parse_scale(value: Union[str, float]) -> float:
    """A positive scale from a number or a fraction (``'1/3'``).

    Args:
        value (str | float): The scale.

    Returns:
        float: The scale.
    """
    try:
        scale = float(Fraction(value)) if isinstance(value, str) \
            else float(value)
    except (ValueError, ZeroDivisionError):
        raise UserError(f'scale {value!r} is not a number: pass e.g. 1/3 '
                        'or 0.5') from None
    if not math.isfinite(scale) or scale <= 0:
        raise UserError(f'scale must be positive, got {value!r}')
    return scale


def scaled_size(size: Tuple[int, int], scale: float) -> Tuple[int, int]:
    """Size ``(w, h)`` times ``scale``, rounded half up, at least 1."""
    return tuple(max(1, int(math.floor(s * scale + 0.5))) for s in size)


def read_ccp_split(path: str) -> Dict[str, List[str]]:
    """Read and check a split file: ``{"split": ["NNNN", ...], ...}``.

    Args:
        path (str): The JSON file.

    Returns:
        Dict[str, List[str]]: Ids per split, in the file's order.
    """
    fix = 'pass a JSON file like {"train": ["0002", ...], "val": [...]}'
    if not osp.isfile(path):
        raise MissingFileError(f'split file {path} does not exist: {fix}')
    try:
        with open(path, encoding='utf-8') as f:
            content = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f'split file {path} is not valid JSON ({error}): '
                        f'{fix}') from None
    if not isinstance(content, dict) or not content:
        raise UserError(f'split file {path} holds no splits: {fix}')
    owner: Dict[str, str] = {}
    for split, ids in content.items():
        if not _ID.match(split):
            raise UserError(f'split file {path}: split name {split!r} is '
                            'not a folder name (letters, digits, _ and -)')
        if not isinstance(ids, list) or not all(
                isinstance(i, str) and _ID.match(i) for i in ids):
            raise UserError(f'split file {path}: split {split!r} must be a '
                            'list of ids, the photos\' file names without '
                            f'.jpg: {fix}')
        for i in ids:
            if i in owner:
                raise UserError(
                    f'split file {path}: id {i} is listed twice (in '
                    f'{owner[i]!r} and {split!r}): list each id once')
            owner[i] = split
    return content


def read_ccp_label_list(path: str) -> List[str]:
    """The class names of a release's ``label_list.mat``.

    Args:
        path (str): The file.

    Returns:
        List[str]: The names, in label id order.
    """
    content = _load_mat(path)
    names = content.get('label_list')
    if names is None:
        raise UserError(f'{path} has no variable "label_list": '
                        f'{_FIX_RELEASE}')
    return [
        str(np.asarray(n).ravel()[0]) if np.asarray(n).size else ''
        for n in np.asarray(names).ravel()
    ]


def read_ccp_annotation(path: str) -> np.ndarray:
    """The checked label map (uint8, ids 0-58) of an annotation ``.mat``.

    Args:
        path (str): An ``annotations/pixel-level/NNNN.mat`` file.

    Returns:
        np.ndarray: Label map (H, W), uint8.
    """
    content = _load_mat(path)
    if CCP_LABEL_VARIABLE not in content:
        held = sorted(k for k in content if not k.startswith('__'))
        raise UserError(
            f'{path} has no variable "{CCP_LABEL_VARIABLE}" (it holds '
            f'{held or "none"}): not a CCP pixel-level annotation; '
            f'{_FIX_RELEASE}')
    label = np.asarray(content[CCP_LABEL_VARIABLE])
    if label.ndim != 2 or label.dtype.kind not in 'uif' or not label.size:
        raise UserError(
            f'{path}: "{CCP_LABEL_VARIABLE}" must be a 2-D array of label '
            f'ids, got shape {label.shape} of {label.dtype}; {_FIX_RELEASE}')
    num_classes = len(CCP_CLASSES)
    bad = (label < 0) | (label >= num_classes) | (label != np.round(label))
    if bad.any():
        values = np.unique(label[bad])
        shown = ', '.join(f'{v:g}' for v in values[:5].tolist())
        more = f' and {len(values) - 5} more' if len(values) > 5 else ''
        raise UserError(
            f'{path}: label ids {shown}{more} in "{CCP_LABEL_VARIABLE}" are '
            f'outside 0-{num_classes - 1} (CCP has {num_classes} classes, '
            f'{CCP_LABEL_LIST}); {_FIX_RELEASE}')
    return label.astype(np.uint8)


def _load_mat(path: str) -> dict:
    """``scipy.io.loadmat`` with unreadable files as user errors.

    scipy is a requirement of MMSegmentation, the toolbox this converter
    feeds, so the package does not list it.
    """
    import scipy.io
    if not osp.isfile(path):
        raise MissingFileError(f'{path} is missing: {_FIX_RELEASE}')
    try:
        return scipy.io.loadmat(path)
    except NotImplementedError as error:  # MATLAB v7.3 (HDF5)
        raise UserError(f'{path} cannot be read ({error}): save it as a '
                        'MATLAB v5 file (save -v7) or restore it from the '
                        'release') from None
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError,
            EOFError) as error:
        raise UserError(f'{path} is not a readable .mat file ({error}); '
                        f'{_FIX_RELEASE}') from None


def plan_ccp_conversion(
        src: str,
        split_file: Optional[str] = None
) -> Tuple[Dict[str, List[str]], Dict[str, str]]:
    """Which splits of a release can be converted, checked up front.

    A split is converted when every photo of its ids is present (and then
    every annotation must be too); a split with none of its photos is
    skipped (the benchmark copy holds no test photos). ``label_list.mat``
    must hold the 59 names of :data:`CCP_CLASSES`.

    Args:
        src (str): Root of the release (``photos/``,
            ``annotations/pixel-level/``, ``label_list.mat``).
        split_file (str, optional): Split JSON. Defaults to None: the
            shipped :data:`CCP_SPLIT_FILE`.

    Returns:
        Tuple[Dict[str, List[str]], Dict[str, str]]: The ids of each split
        to convert, and the reason for each skipped split.

    Raises:
        MissingFileError: If the release's folders, ``label_list.mat``, a
            photo of a partly present split or an annotation of a
            converted split is missing, or no split has its photos.
        UserError: If the split file or ``label_list.mat`` is invalid.
    """
    split_file = split_file or CCP_SPLIT_FILE
    splits = read_ccp_split(split_file)
    photo_dir = osp.join(src, CCP_PHOTO_DIR)
    ann_dir = osp.join(src, CCP_ANNOTATION_DIR)
    layout = f'pass the root of the CCP release ({CCP_PHOTO_DIR}/, ' \
        f'{CCP_ANNOTATION_DIR}/, {CCP_LABEL_LIST})'
    for folder in (photo_dir, ann_dir):
        if not osp.isdir(folder):
            raise MissingFileError(f'{folder} is missing: {layout}')
    label_list = osp.join(src, CCP_LABEL_LIST)
    if not osp.isfile(label_list):
        raise MissingFileError(f'{label_list} is missing: {layout}')
    names = read_ccp_label_list(label_list)
    if tuple(names) != CCP_CLASSES:
        raise UserError(
            f'{label_list} names {len(names)} classes that differ from the '
            f'{len(CCP_CLASSES)} of the CCP release (null, accessories, bag, '
            f'...): the label ids would not mean what CCPDataset says; '
            f'{_FIX_RELEASE}')
    convert, skipped = {}, {}
    for split, ids in splits.items():
        photos = [osp.join(photo_dir, f'{i}.jpg') for i in ids]
        missing = [p for p in photos if not osp.isfile(p)]
        if not ids:
            skipped[split] = 'no ids in the split file'
        elif len(missing) == len(ids):
            skipped[split] = f'none of its {len(ids)} photos is in {photo_dir}'
        elif missing:
            raise MissingFileError(
                f'{missing[0]} is missing (missing: {len(missing)} of the '
                f'{len(ids)} photos of split {split} in {split_file}): '
                f'{_FIX_RELEASE}, or convert with a --split file that does '
                'not list it')
        else:
            for i in ids:
                ann = osp.join(ann_dir, f'{i}.mat')
                if not osp.isfile(ann):
                    raise MissingFileError(
                        f'{ann} is missing (the annotation of photo {i}, '
                        f'split {split} in {split_file}): {_FIX_RELEASE}, '
                        'or convert with a --split file that does not list '
                        'it')
            convert[split] = list(ids)
    if not convert:
        raise MissingFileError(
            f'no split of {split_file} has its photos in {photo_dir} '
            f'({"; ".join(f"{k}: {v}" for k, v in skipped.items())}): '
            f'{layout}')
    return convert, skipped


def _convert_one(task: Tuple[str, str], src: str, out: str,
                 scale: float) -> None:
    """Check one photo and its annotation, write both resized into
    ``out/{img_dir,ann_dir}/{split}/{id}.png``."""
    split, i = task
    photo = osp.join(src, CCP_PHOTO_DIR, f'{i}.jpg')
    ann = osp.join(src, CCP_ANNOTATION_DIR, f'{i}.mat')
    try:
        with Image.open(photo) as opened:
            image = opened.convert('RGB')
    except (UnidentifiedImageError, OSError) as error:
        raise UserError(f'{photo} is not a readable image ({error}); '
                        f'{_FIX_RELEASE}') from None
    label = read_ccp_annotation(ann)
    width, height = image.size
    if label.shape != (height, width):
        raise UserError(
            f'{photo} is {width}x{height} but its label map {ann} is '
            f'{label.shape[1]}x{label.shape[0]}: a photo and its '
            f'"{CCP_LABEL_VARIABLE}" must have the same size; restore both '
            f'from {_RELEASE}')
    size = scaled_size((width, height), scale)
    label_image = Image.fromarray(label, mode='L')
    if size != (width, height):
        image = image.resize(size, Image.BILINEAR)
        label_image = label_image.resize(size, Image.NEAREST)
    image.save(osp.join(out, 'img_dir', split, f'{i}.png'))
    label_image.save(osp.join(out, 'ann_dir', split, f'{i}.png'))


def _move_into_place(tmp: str, dst: str, splits: Sequence[str]) -> None:
    """Move the converted splits from ``tmp`` to ``dst`` (whole when
    ``dst`` does not exist; else each split's folder, replacing it)."""
    if not osp.exists(dst):
        os.replace(tmp, dst)
        return
    for kind in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(dst, kind), exist_ok=True)
        for split in splits:
            target = osp.join(dst, kind, split)
            if osp.exists(target):
                os.replace(target, osp.join(tmp, kind, f'{split}.old'))
            os.replace(osp.join(tmp, kind, split), target)
    shutil.rmtree(tmp)


def convert_ccp(src: str,
                dst: str,
                split_file: Optional[str] = None,
                scale: Union[float, str] = CCP_DEFAULT_SCALE,
                nproc: int = 1,
                show_progress: bool = True) -> Dict[str, Dict]:
    """Convert CCP from its release layout to the mmseg layout.

    Input (the public release, bearpaw/clothing-co-parsing)::

        src/photos/NNNN.jpg
        src/annotations/pixel-level/NNNN.mat   # "groundtruth": ids 0-58
        src/label_list.mat                     # the 59 class names

    Output (read by :class:`CCPDataset`)::

        dst/img_dir/{split}/NNNN.png           # RGB, resized bilinearly
        dst/ann_dir/{split}/NNNN.png           # ids 0-58, resized nearest

    The splits are those of ``split_file``; each split whose photos are all
    present is converted, one with none of them is skipped (see
    :func:`plan_ccp_conversion`). Images are saved as PNG (lossless, so the
    only change is the resize). Every file is checked (a readable photo, a
    ``.mat`` with ``groundtruth``, ids 0-58, the photo's size) while the
    splits are written into a temporary folder beside ``dst``; only when
    all succeed are they moved to ``dst`` (replacing the converted splits'
    folders of an earlier conversion), so a bad release leaves ``dst`` as
    it was.

    Args:
        src (str): Root of the release.
        dst (str): Root of the output layout.
        split_file (str, optional): Split JSON (``{"train": [ids], ...}``).
            Defaults to None: the shipped :data:`CCP_SPLIT_FILE`.
        scale (float | str): Output size over the photo's size, a number
            or a fraction (``'1/3'``). Defaults to 1/3.
        nproc (int): Number of worker processes. Defaults to 1.
        show_progress (bool): Whether to show a progress bar. Defaults to
            True.

    Returns:
        Dict[str, Dict]: ``converted`` (number of images per split) and
        ``skipped`` (the reason per split).
    """
    scale = parse_scale(scale)
    if nproc < 1:
        raise UserError(f'nproc must be at least 1, got {nproc}')
    convert, skipped = plan_ccp_conversion(src, split_file)
    dst = osp.abspath(dst)
    if osp.exists(dst) and not osp.isdir(dst):
        raise UserError(f'{dst} is a file: pass a folder for the output')
    parent = osp.dirname(dst)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(
        prefix=f'.{osp.basename(dst)}.partial-', dir=parent)
    try:
        for kind in ('img_dir', 'ann_dir'):
            for split in convert:
                os.makedirs(osp.join(tmp, kind, split))
        tasks = [(split, i) for split, ids in convert.items() for i in ids]
        func = partial(_convert_one, src=src, out=tmp, scale=scale)
        bar = ProgressBar(len(tasks)) if show_progress else None
        if nproc > 1:
            with multiprocessing.Pool(nproc) as pool:
                for _ in pool.imap_unordered(func, tasks, chunksize=4):
                    if bar is not None:
                        bar.update()
        else:
            for task in tasks:
                func(task)
                if bar is not None:
                    bar.update()
        if bar is not None:
            print()
        _move_into_place(tmp, dst, list(convert))
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return dict(
        converted={split: len(ids) for split, ids in convert.items()},
        skipped=skipped)
