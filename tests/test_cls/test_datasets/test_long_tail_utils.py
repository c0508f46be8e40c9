"""long_tail_utils: long-tail profiles, deterministic selection."""
import numpy as np
import pytest

from mil_seg.cls.datasets import long_tail_counts, select_long_tail


def test_long_tail_counts_follow_the_profile():
    counts = long_tail_counts(10, 5000, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(long_tail_counts(100, 500, 100)) == 10847  # CIFAR-100-LT
    for c, n in enumerate(long_tail_counts(100, 500, 50)):
        assert n == int(500 * 50**(-c / 99))
    assert long_tail_counts(4, 10, 2, profile='step') == [10, 10, 5, 5]
    assert long_tail_counts(3, 2, 100) == [2, 1, 1]  # floor of 1
    with pytest.raises(ValueError):
        long_tail_counts(3, 10, 0.5)


def test_select_long_tail_is_deterministic():
    labels = np.repeat(np.arange(3), 10)
    a = select_long_tail(labels, [10, 4, 1], seed=0)
    assert np.array_equal(a, select_long_tail(labels, [10, 4, 1], seed=0))
    assert np.bincount(labels[a]).tolist() == [10, 4, 1]
    assert not np.array_equal(a, select_long_tail(labels, [10, 4, 1], 1))
    with pytest.raises(ValueError):
        select_long_tail(labels, [11, 1, 1])
