"""ADE20K class prior from the benchmark's ``objectInfo150.csv``."""
import csv
from typing import Dict

import numpy as np

from mil_seg.errors import UserError

#: Number of training images of ADEChallengeData2016.
ADE20K_NUM_TRAIN = 20210
#: Nominal labelled-pixel count of one image used to turn ratios into counts.
ADE20K_NOMINAL_PIXELS = 512 * 512


def ade20k_prior_from_csv(csv_file: str,
                          count_type: str = 'pixel',
                          num_images: int = ADE20K_NUM_TRAIN,
                          pixels_per_image: int = ADE20K_NOMINAL_PIXELS
                          ) -> Dict:
    """Class prior of ADE20K (150 classes) from ``objectInfo150.csv``.

    The CSV (columns ``Idx, Ratio, Train, Val, Stuff, Name``) lists, per
    class, its share of all training pixels (rounded to 1e-4), and the
    number of training images containing it. Class ``Idx`` i is label i in
    the annotation files, i.e. label i - 1 after ``reduce_zero_label``, the
    order of :class:`mmseg.datasets.ADE20KDataset`.

    * ``count_type='pixel'``: counts are ``Ratio * num_images *
      pixels_per_image``, an estimate of labelled pixels on a nominal
      512 x 512 image. Only ratios matter to the prior; the scale keeps
      ``ClassPrior``'s additive smoothing (one pixel) negligible, as with
      real counts. Rounding of the ratios limits precision to 1e-4.
    * ``count_type='image'``: counts are the ``Train`` column (exact).

    Either way ``image_counts`` is the ``Train`` column: the number of
    training images that contain the class (the metric's frequent / common
    / rare groups).

    Class names are those of mmseg's ``ADE20KDataset`` (what the dataset
    and the metric use), checked against the CSV's synonyms.

    Args:
        csv_file (str): Path of ``objectInfo150.csv``.
        count_type (str): 'pixel' or 'image'. Defaults to 'pixel'.
        num_images (int): Number of training images. Defaults to 20210.
        pixels_per_image (int): Nominal pixels per image.
            Defaults to 512 * 512.

    Returns:
        dict: ``classes``, ``counts`` (np.ndarray, float64), ``count_type``,
        ``num_samples`` and ``image_counts`` (np.ndarray, float64), the
        arguments of ``ClassPrior.write_file``.

    Raises:
        UserError: If ``count_type`` is unknown or the CSV does not list
            mmseg's ADE20K classes in order.
    """
    from mmseg.datasets import ADE20KDataset
    if count_type not in ('pixel', 'image'):
        raise UserError(f'count_type must be pixel or image, got '
                        f'{count_type!r}')
    classes = list(ADE20KDataset.METAINFO['classes'])
    with open(csv_file, encoding='utf-8', newline='') as f:
        rows = list(csv.DictReader(f))
    if [int(r['Idx']) for r in rows] != list(range(1, len(classes) + 1)):
        raise UserError(f'{csv_file}: expected rows Idx 1..{len(classes)}')
    for name, row in zip(classes, rows):
        # mmseg names are the CSV's first synonym(s), spaces for ';'
        if name.strip().split(' ')[0][:4] not in row['Name']:
            raise UserError(f'{csv_file}: row {row["Idx"]} is '
                            f'{row["Name"]!r}, mmseg expects {name!r}')
    image_counts = np.array([float(r['Train']) for r in rows])
    if count_type == 'pixel':
        counts = np.array([float(r['Ratio']) for r in rows]) * (
            num_images * pixels_per_image)
    else:
        counts = image_counts
    return dict(
        classes=classes,
        counts=counts.round(),
        count_type=count_type,
        num_samples=num_images,
        image_counts=image_counts)
