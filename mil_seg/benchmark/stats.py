"""Summaries over seeds: the mean and sample standard deviation a table
shows.

Two number types, two precisions: a benchmark summarises the floats its runs
measured (:func:`mean_std`, :func:`cell`); the model-zoo renderer summarises
the :class:`~decimal.Decimal` values of result files, rounded half up to the
precision they were recorded with (:func:`decimal_cell`), so a table is the
same on every machine. Differences between methods, with the intervals of
a paired bootstrap (:mod:`.bootstrap`), are :func:`compare` and
:func:`difference_cell`.
"""
import math
import statistics
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .bootstrap import Difference, ImageSums, paired_bootstraps


def mean_std(values: Sequence[Optional[float]]
             ) -> Tuple[Optional[float], Optional[float]]:
    """Mean and sample standard deviation of the defined values.

    Args:
        values (Sequence[float | None]): One value per seed; None (an
            undefined metric) is left out.

    Returns:
        tuple: (mean, std); the mean is None without a defined value, the
        std without two.
    """
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return (statistics.fmean(values),
            statistics.stdev(values) if len(values) > 1 else None)


def cell(values: Sequence[Optional[float]], digits: int = 2) -> str:
    """``mean ± std`` of seeds, as a benchmark prints it.

    Args:
        values (Sequence[float | None]): One value per seed.
        digits (int): Decimals shown. Defaults to 2.

    Returns:
        str: E.g. ``41.20 ± 0.35``; ``n/a`` when no value is defined.
    """
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f}' + ('' if std is None else
                                   f' ± {std:.{digits}f}')


def decimal_exponent(values: Sequence[Any]) -> int:
    """Smallest decimal exponent among numbers (most digits after '.')."""
    return min(Decimal(v).as_tuple().exponent for v in values)


def decimal_mean(values: Sequence[Any]) -> Decimal:
    """The exact mean of recorded numbers."""
    values = [Decimal(v) for v in values]
    return sum(values) / len(values)


def decimal_std(values: Sequence[Any]) -> Decimal:
    """The sample standard deviation of two or more recorded numbers."""
    mean = decimal_mean(values)
    return (sum((Decimal(v) - mean)**2 for v in values) /
            (len(values) - 1)).sqrt()


def quantize(value: Decimal, exponent: int) -> str:
    """``value`` rounded half up to ``10 ** exponent``, as text."""
    return format(value.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP),
                  'f')


def decimal_cell(values: List[Any], with_std: bool = True) -> str:
    """``mean ± std`` of recorded numbers at their recorded precision.

    The mean is rounded (half up) to the most decimals any value was
    recorded with; ``± std`` (sample standard deviation) follows when there
    are several values and ``with_std``.

    Args:
        values (list): The recorded numbers (int or Decimal).
        with_std (bool): Append the standard deviation. Defaults to True.

    Returns:
        str: The cell's text.
    """
    exponent = decimal_exponent(values)
    text = quantize(decimal_mean(values), exponent)
    if with_std and len(values) > 1:
        text += ' ± ' + quantize(decimal_std(values), exponent)
    return text


def compare(runs: Mapping[int, ImageSums], baseline: Mapping[int, ImageSums],
            class_sets: Dict[str, Optional[Sequence[int]]],
            **bootstrap: Any) -> Tuple[List[int], Dict[str, Difference]]:
    """One method minus another, runs paired by seed, with the intervals of
    :func:`~.bootstrap.paired_bootstraps`.

    Args:
        runs (Mapping[int, ImageSums]): The method's per-image sums by seed.
        baseline (Mapping[int, ImageSums]): The other method's.
        class_sets (dict): Metric -> its classes (None: all), e.g.
            ``{'mIoU': None, 'mIoU_tail': [9, 10]}``.
        **bootstrap: ``num_samples``, ``confidence``, ``seed`` of
            :func:`~.bootstrap.paired_bootstraps`.

    Returns:
        tuple: The seeds paired (those both methods have, sorted; the
        others are left out) and the difference of each metric (empty when
        no seed pairs).
    """
    seeds = sorted(set(runs) & set(baseline))
    if not seeds:
        return [], {}
    return seeds, paired_bootstraps([runs[s] for s in seeds],
                                    [baseline[s] for s in seeds], class_sets,
                                    **bootstrap)


def difference_cell(difference: Optional[Difference], digits: int = 2) -> str:
    """A difference as a table shows it.

    Args:
        difference (Difference, optional): The difference.
        digits (int): Decimals shown. Defaults to 2.

    Returns:
        str: E.g. ``+1.23 [0.41, 2.05]*`` (``*``: the interval excludes 0);
        ``n/a`` for none or an undefined one (an empty group).
    """
    if difference is None or math.isnan(difference.estimate):
        return 'n/a'
    if math.isnan(difference.low):
        return f'{difference.estimate:+.{digits}f}'
    return (f'{difference.estimate:+.{digits}f} [{difference.low:.{digits}f}'
            f', {difference.high:.{digits}f}]' +
            ('*' if difference.significant else ''))
