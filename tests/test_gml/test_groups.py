"""class_groups: head / body / tail by share, rank or count; frequent /
common / rare by image counts."""
import pytest

from mil_seg.gml.groups import FREQUENCY_GROUP_NAMES, class_groups

# shares 0.6 / 0.25 / 0.1 / 0.05: head {a}, body {b, c}, tail {d}
PRIOR = [60, 25, 10, 5]


def test_class_groups_share_rank_count():
    assert class_groups(PRIOR).tolist() == [0, 1, 1, 2]
    # unsorted input, ties kept by index; a zero count is always tail
    assert class_groups([5, 60, 0, 25, 10]).tolist() == [2, 0, 2, 1, 1]
    # exact boundary: classes before 'b' hold exactly 0.5 -> 'b' is body
    assert class_groups([50, 30, 20], 'share', (0.5, 0.8)).tolist() == [
        0, 1, 2
    ]
    assert class_groups(PRIOR, 'rank', (0.25, 0.75)).tolist() == [0, 1, 1, 2]
    assert class_groups([150, 100, 50, 19], 'count',
                        (100, 20)).tolist() == [0, 1, 1, 2]
    with pytest.raises(ValueError):
        class_groups(PRIOR, 'count', (20, 100))
    with pytest.raises(ValueError):
        class_groups(PRIOR, 'share', (0.9, 0.5))
    with pytest.raises(ValueError):
        class_groups(PRIOR, 'frequency')


def test_frequency_groups_by_hand():
    # training images per class, made up; by decreasing count:
    # 500 (0), 250 (8), 120 (2), 100 (5), 60 (7), 40 (3), 11 (6), 10 (4),
    # 3 (1), 1 (9)
    images = [500, 3, 120, 40, 10, 100, 11, 60, 250, 1]
    # LTSS: ranks 0-5 (r / 10 < 0.6) frequent, 6-7 common, 8-9 rare
    ltss = class_groups(images, 'rank', (0.6, 0.8))
    assert [FREQUENCY_GROUP_NAMES[g] for g in ltss] == [
        'frequent', 'rare', 'frequent', 'frequent', 'common', 'frequent',
        'common', 'frequent', 'frequent', 'rare'
    ]
    # LVIS: frequent > 100 images, common 11-100, rare 1-10
    lvis = class_groups(images, 'count', (100, 11))
    assert [FREQUENCY_GROUP_NAMES[g] for g in lvis] == [
        'frequent', 'rare', 'frequent', 'common', 'rare', 'common',
        'common', 'common', 'frequent', 'rare'
    ]
