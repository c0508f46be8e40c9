"""Class groups from counts: head / body / tail (pixel share), frequent /
common / rare (image frequency), many / medium / few (classification)."""
from typing import Sequence, Tuple

import numpy as np

from ..errors import UserError

#: Names of the groups 0, 1, 2 (decreasing frequency) by pixel counts.
GROUP_NAMES = ('head', 'body', 'tail')
#: Names of the same three groups by image counts (the number of training
#: images that contain a class), as LVIS and the LTSS benchmark call them.
FREQUENCY_GROUP_NAMES = ('frequent', 'common', 'rare')
GROUP_BY = ('share', 'rank', 'count')


def class_groups(counts: Sequence[float],
                 group_by: str = 'share',
                 group_split: Tuple[float, float] = (0.5, 0.9)) -> np.ndarray:
    """Assign every class to the head (0), body (1) or tail (2) group.

    The three indices are named :data:`GROUP_NAMES` for groups by pixel
    counts and :data:`FREQUENCY_GROUP_NAMES` (frequent, common, rare) for
    groups by image counts; the rule is the same.

    Classes are sorted by decreasing count (ties by class index), then,
    with ``group_split = (a, b)``:

    * ``'share'`` (default): by cumulative share of the counts. A class is
      *head* if the classes before it hold less than ``a`` of all counts,
      else *body* if they hold less than ``b``, else *tail*. With
      (0.5, 0.9): the most frequent classes that together first reach 50 %
      of the labelled pixels are head, those up to 90 % body, the classes
      sharing the last 10 % tail. The head is never empty.
    * ``'rank'``: by rank fraction. A class of 0-based rank r among C is
      head if ``r / C < a``, else body if ``r / C < b``, else tail; e.g.
      (1/3, 2/3) gives thirds. (0.6, 0.8) on image counts is the
      frequent / common / rare split of the LTSS benchmark (Li et al.,
      "Frequency-based Matcher for Long-tailed Semantic Segmentation",
      TMM 2024): its released class tables (caopulan/Mask2Former-LT,
      ``ltss/data/datasets/register_*.py``) label the 60 % of classes in
      the most training images frequent, the next 20 % common and the
      last 20 % rare: the group sizes of this rule on COCO-Stuff-LT
      (103 / 34 / 34 of 171 classes) and, class by class, its groups on
      MHP-v2-LT (36 / 12 / 11 of 59). The paper's text was not available
      to us; the rule is read from those tables. Tied counts are ordered
      by class index here, so a tie across a boundary is split; LTSS's
      ADE20K-Full table keeps tied image counts together (512 / 175 / 160
      of 847 classes instead of 509 / 169 / 169).
    * ``'count'``: by absolute count, ``a >= b``: head if ``count > a``,
      tail if ``count < b``, body otherwise; e.g. (100, 20) on image counts
      gives the many / medium / few-shot split of the classification
      literature, and (100, 11) LVIS's frequent (> 100 images) / common
      (11-100) / rare (1-10) split (Gupta et al., "LVIS: A Dataset for
      Large Vocabulary Instance Segmentation", CVPR 2019).

    A class with zero count is always tail.

    Args:
        counts (Sequence[float]): Class counts (pixels or images), (C, ).
        group_by (str): 'share', 'rank' or 'count'. Defaults to 'share'.
        group_split (Tuple[float, float]): The two boundaries, see above.
            Defaults to (0.5, 0.9).

    Returns:
        np.ndarray: Group index per class (C, ), int64, 0 head, 1 body,
        2 tail (names in :data:`GROUP_NAMES`).

    Raises:
        UserError: If the counts are negative or not finite, or
            ``group_by`` or ``group_split`` is invalid.
    """
    counts = np.asarray(counts, dtype=np.float64).ravel()
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise UserError('counts must be finite and non-negative')
    if group_by not in GROUP_BY:
        raise UserError(f'group_by must be one of {GROUP_BY}, got '
                        f'{group_by!r}')
    a, b = (float(v) for v in group_split)
    groups = np.full(counts.shape, 2, dtype=np.int64)
    if group_by == 'count':
        if a < b:
            raise UserError(f"group_by='count' needs group_split=(high, "
                            f'low) with high >= low, got {group_split}')
        groups[counts >= b] = 1
        groups[counts > a] = 0
    else:
        if not 0 <= a <= b <= 1:
            raise UserError(f'group_split must satisfy 0 <= a <= b <= 1 for '
                            f'{group_by!r}, got {group_split}')
        order = np.argsort(-counts, kind='stable')
        if group_by == 'share':
            total = counts.sum()
            if total <= 0:
                raise UserError('counts sum to 0: no groups can be formed')
            share = counts[order] / total
            # rounded so that exact boundaries are not lost to float error
            before = np.round(np.cumsum(share) - share, 12)
        else:
            before = np.arange(len(counts)) / max(len(counts), 1)
        sorted_groups = np.where(before < a, 0, np.where(before < b, 1, 2))
        groups[order] = sorted_groups
    groups[counts <= 0] = 2
    return groups
