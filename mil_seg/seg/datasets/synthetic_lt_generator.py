"""Generator of a small synthetic long-tailed segmentation dataset."""
import colorsys
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.utils import mkdir_or_exist
from PIL import Image

from mil_seg.errors import UserError

#: Name of the metadata file written next to ``img_dir`` and ``ann_dir``.
SYNTHETIC_LT_META_FILE = 'meta.json'
#: Name of the class-prior file (ClassPrior JSON format, train split).
SYNTHETIC_LT_PRIOR_FILE = 'class_prior.json'


def synthetic_lt_class_names(num_classes: int) -> Tuple[str, ...]:
    """Class names of the synthetic set: 'background', 'class1', ...

    Args:
        num_classes (int): Number of classes, background included.

    Returns:
        Tuple[str, ...]: The names.
    """
    return ('background', ) + tuple(f'class{c}'
                                    for c in range(1, num_classes))


def power_law_shares(num_classes: int, imbalance: float) -> np.ndarray:
    """Target pixel shares ``p_c ~ (c + 1) ** -alpha`` of a power law.

    ``alpha = ln(imbalance) / ln(num_classes)`` so that the most frequent
    class (the background, c = 0) holds ``imbalance`` times the pixels of
    the rarest one.

    Args:
        num_classes (int): Number of classes.
        imbalance (float): Ratio of the largest to the smallest share.

    Returns:
        np.ndarray: Shares of shape (num_classes, ), summing to one.
    """
    alpha = np.log(imbalance) / np.log(num_classes)
    shares = np.arange(1, num_classes + 1, dtype=np.float64)**(-alpha)
    return shares / shares.sum()


class _Appearance:
    """Colour and texture of every class, drawn once from the seed.

    Non-background classes come in look-alike pairs: class ``k`` and class
    ``k + n`` (``n = ceil((C - 1) / 2)``) share the same mean colour and
    differ only in their stripe texture (period and orientation). As the
    second member of each pair is a rarer class, a per-pixel colour rule
    cannot separate them; the network has to read the texture, which the
    tail classes offer in few examples.
    """

    def __init__(self, num_classes: int, rng: np.random.Generator) -> None:
        num_fg = num_classes - 1
        num_colours = max(1, (num_fg + 1) // 2)
        hue0 = rng.uniform()
        colours = []
        for g in range(num_colours):
            hue = (hue0 + g / num_colours) % 1.0
            colours.append(
                np.array(colorsys.hsv_to_rgb(hue, 0.55, 0.75)) * 255)
        self.background = np.array([118., 118., 118.])
        self.colour = [self.background]
        self.period = [0.]
        self.angle = [0.]
        for k in range(1, num_classes):
            g, second = (k - 1) % num_colours, (k - 1) >= num_colours
            self.colour.append(colours[g])
            # first of a pair: wide stripes; second: narrow stripes.
            self.period.append(
                rng.uniform(3.0, 4.5) if second else rng.uniform(9.0, 14.0))
            self.angle.append(rng.uniform(0, np.pi))

    def palette(self) -> List[List[int]]:
        """Mean colour of every class, usable as a dataset palette."""
        return [[int(round(v)) for v in c] for c in self.colour]


def _shape_mask(yy: np.ndarray, xx: np.ndarray, area: float,
                rng: np.random.Generator) -> np.ndarray:
    """A random ellipse, rotated rectangle or blob of about ``area`` px."""
    h, w = yy.shape
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    theta = rng.uniform(0, np.pi)
    ratio = rng.uniform(0.4, 1.0)
    kind = rng.integers(3)
    cos, sin = np.cos(theta), np.sin(theta)

    def rotated(dy, dx):
        return dx * cos + dy * sin, -dx * sin + dy * cos

    if kind == 0:  # ellipse
        a = np.sqrt(area / (np.pi * ratio))
        u, v = rotated(yy - cy, xx - cx)
        return (u / a)**2 + (v / (a * ratio))**2 <= 1
    if kind == 1:  # rotated rectangle
        a = np.sqrt(area / (4 * ratio))
        u, v = rotated(yy - cy, xx - cx)
        return (np.abs(u) <= a) & (np.abs(v) <= a * ratio)
    # blob: union of three overlapping ellipses
    a = np.sqrt(area / 2 / (np.pi * ratio))
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(3):
        oy, ox = rng.normal(0, a / 2, size=2)
        u, v = rotated(yy - cy - oy, xx - cx - ox)
        mask |= (u / a)**2 + (v / (a * ratio))**2 <= 1
    return mask


def _render_image(app: _Appearance, lam: np.ndarray,
                  area_range: Tuple[float, float], size: Tuple[int, int],
                  noise: float,
                  rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one (image, label) pair."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    label = np.zeros((h, w), dtype=np.uint8)
    img = np.empty((h, w, 3), dtype=np.float64)
    # background: grey with a smooth random shading
    shade = np.zeros((h, w))
    for _ in range(3):
        fy, fx = rng.uniform(0.5, 2.0, size=2) * 2 * np.pi / np.array([h, w])
        shade += rng.uniform(8, 18) * np.sin(fy * yy + fx * xx +
                                             rng.uniform(0, 2 * np.pi))
    img[:] = app.background + shade[..., None]
    log_lo, log_hi = np.log(area_range[0]), np.log(area_range[1])
    # head classes first, so that rare objects are drawn on top
    for k in range(1, len(app.colour)):
        for _ in range(rng.poisson(lam[k])):
            mask = _shape_mask(yy, xx, np.exp(rng.uniform(log_lo, log_hi)),
                               rng)
            if not mask.any():
                continue
            period, angle = app.period[k], app.angle[k] + rng.normal(0, 0.15)
            stripes = 38 * np.sin(2 * np.pi * (xx * np.cos(angle) +
                                               yy * np.sin(angle)) / period +
                                  rng.uniform(0, 2 * np.pi))
            colour = app.colour[k] + rng.normal(0, 12, size=3)
            img[mask] = colour + stripes[mask][:, None]
            label[mask] = k
    img = img * rng.uniform(0.8, 1.2) + rng.normal(0, noise, size=img.shape)
    return np.clip(img, 0, 255).round().astype(np.uint8), label


def generate_synthetic_lt_dataset(
        root: str,
        num_train: int = 300,
        num_val: int = 60,
        image_size: Tuple[int, int] = (64, 64),
        num_classes: int = 8,
        seed: int = 0,
        imbalance: float = 100.0,
        area_range: Tuple[float, float] = (0.008, 0.08),
        noise: float = 10.0,
        splits: Optional[Sequence[str]] = None) -> Dict:
    """Write a small synthetic long-tailed segmentation dataset.

    Scenes are a shaded grey background (class 0) with random ellipses,
    rotated rectangles and blobs of the other classes. A class is defined by
    its colour and stripe texture, never by its shape or size; look-alike
    pairs (same colour, different stripes) pair a frequent class with a rare
    one (see :class:`_Appearance`). Per object colour jitter, per image
    brightness and pixel noise keep it from being trivial.

    Pixel shares follow a power law, :func:`power_law_shares`: the number of
    objects of class ``c`` per image is Poisson with a mean chosen so that
    its expected area is ``share_c * H * W`` (before occlusion). Rarer
    classes are drawn on top. The shares actually realised in each split are
    written to ``meta.json``; with the defaults the background holds about
    70 % of the pixels and the rarest class well under 1 %.

    Layout (read by :class:`SyntheticLTDataset`)::

        root/img_dir/{train,val}/00000.png   RGB images
        root/ann_dir/{train,val}/00000.png   labels 0..num_classes-1
        root/meta.json                       classes, palette, shares, args
        root/class_prior.json                train pixel counts (ClassPrior
                                             JSON format)

    The output depends only on the arguments: the same seed gives the same
    files, and each split has its own random stream, so ``num_val`` does not
    change the training images.

    Args:
        root (str): Output directory.
        num_train (int): Number of training images. Defaults to 300.
        num_val (int): Number of validation images. Defaults to 60.
        image_size (Tuple[int, int]): (height, width). Defaults to (64, 64).
        num_classes (int): Number of classes, background included.
            Defaults to 8.
        seed (int): Random seed. Defaults to 0.
        imbalance (float): Ratio of the largest to the smallest target
            pixel share. Defaults to 100.0.
        area_range (Tuple[float, float]): Range of object areas as fractions
            of the image area (drawn log-uniformly, the same for every
            class). Defaults to (0.008, 0.08).
        noise (float): Standard deviation of the pixel noise (0-255 scale).
            Defaults to 10.0.
        splits (Sequence[str], optional): Split names, one per entry of
            ``(num_train, num_val)``. Defaults to ('train', 'val').

    Returns:
        dict: The metadata written to ``meta.json``.
    """
    if num_classes < 2:
        raise UserError(f'num_classes must be >= 2, got {num_classes}')
    splits = tuple(splits or ('train', 'val'))
    sizes = (num_train, num_val)
    h, w = image_size
    shares = power_law_shares(num_classes, imbalance)
    area_px = (area_range[0] * h * w, area_range[1] * h * w)
    mean_area = (area_px[1] - area_px[0]) / np.log(area_px[1] / area_px[0])
    lam = shares * h * w / mean_area
    seeds = np.random.SeedSequence(seed).spawn(len(splits) + 1)
    app = _Appearance(num_classes, np.random.default_rng(seeds[0]))
    classes = synthetic_lt_class_names(num_classes)
    counts = {}
    for split, num, split_seed in zip(splits, sizes, seeds[1:]):
        rng = np.random.default_rng(split_seed)
        img_dir = osp.join(root, 'img_dir', split)
        ann_dir = osp.join(root, 'ann_dir', split)
        mkdir_or_exist(img_dir)
        mkdir_or_exist(ann_dir)
        hist = np.zeros(num_classes, dtype=np.int64)
        for i in range(num):
            img, label = _render_image(app, lam, area_px, (h, w), noise, rng)
            Image.fromarray(img, mode='RGB').save(
                osp.join(img_dir, f'{i:05d}.png'))
            Image.fromarray(label, mode='L').save(
                osp.join(ann_dir, f'{i:05d}.png'))
            hist += np.bincount(label.ravel(), minlength=num_classes)
        counts[split] = hist
    meta = dict(
        classes=list(classes),
        palette=app.palette(),
        target_shares=shares.round(6).tolist(),
        realised_shares={
            s: (c / max(c.sum(), 1)).round(6).tolist()
            for s, c in counts.items()
        },
        pixel_counts={s: c.tolist()
                      for s, c in counts.items()},
        num_images=dict(zip(splits, sizes)),
        args=dict(
            num_train=num_train,
            num_val=num_val,
            image_size=[h, w],
            num_classes=num_classes,
            seed=seed,
            imbalance=imbalance,
            area_range=list(area_range),
            noise=noise))
    with open(osp.join(root, SYNTHETIC_LT_META_FILE), 'w',
              encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
    if splits[0] in counts:
        _write_prior(
            osp.join(root, SYNTHETIC_LT_PRIOR_FILE), counts[splits[0]],
            classes, sizes[0])
    return meta


def _write_prior(path: str, counts: np.ndarray, classes: Sequence[str],
                 num_samples: int) -> None:
    """Write train pixel counts in the ClassPrior JSON format."""
    from mil_seg.gml import ClassPrior
    ClassPrior.write_file(
        path,
        counts,
        classes=list(classes),
        count_type='pixel',
        num_samples=num_samples)
