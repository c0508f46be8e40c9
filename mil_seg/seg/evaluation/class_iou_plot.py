"""Plot per-class IoU against training class frequency."""
import json
import os.path as osp
import textwrap
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.utils import mkdir_or_exist

from mil_seg.gml.groups import GROUP_NAMES
from mil_seg.errors import UserError


def load_class_results(path: str) -> Dict:
    """Read a per-class result file written by ``LongTailIoUMetric``.

    Args:
        path (str): The JSON file (``output_file`` of the metric).

    Returns:
        dict: Its content; ``per_class`` values are np.ndarray (NaN for
        null).

    Raises:
        UserError: If the file is not a ``LongTailIoUMetric`` result.
    """
    with open(path, encoding='utf-8') as f:
        content = json.load(f)
    if 'classes' not in content or 'per_class' not in content:
        raise UserError(f'{path} is not a LongTailIoUMetric result file '
                        '(no "classes" / "per_class")')
    content['per_class'] = {
        k: np.array([np.nan if v is None else v for v in values], dtype=float)
        for k, values in content['per_class'].items()
    }
    return content


def plot_class_iou(results: Sequence[Dict],
                   out_file: str,
                   prior_counts: Optional[Sequence[float]] = None,
                   labels: Optional[Sequence[str]] = None,
                   metric: str = 'IoU',
                   annotate: bool = True,
                   title: Optional[str] = None) -> None:
    """Scatter per-class IoU against class frequency (log x), one or more
    result files, and save the figure.

    Each result is drawn as points (marker per group when the result has
    groups) joined in frequency order; with two results, a thin line joins
    the two points of each class, showing per-class gains.

    Args:
        results (Sequence[dict]): Outputs of :func:`load_class_results`.
        out_file (str): Output image path (format from the extension).
        prior_counts (Sequence[float], optional): Training class counts for
            the x axis. Defaults to None: the ``prior_counts`` of the first
            result.
        labels (Sequence[str], optional): Legend label per result.
            Defaults to None (file order: 'result 1', ...).
        metric (str): Per-class metric to plot. Defaults to 'IoU'.
        annotate (bool): Whether to write class names next to the points
            of the first result. Defaults to True.
        title (str, optional): Figure title. Defaults to None.

    Raises:
        UserError: If there is no result, the results and the prior do not
            agree on the classes, no prior is known or ``metric`` is not in
            a result.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not results:
        raise UserError('no result to plot')
    classes = results[0]['classes']
    for r in results[1:]:
        if len(r['classes']) != len(classes):
            raise UserError('results have different numbers of classes')
    if prior_counts is None:
        prior_counts = results[0].get('prior_counts')
        if prior_counts is None:
            raise UserError('no prior given and the result file has no '
                            'prior_counts')
    counts = np.asarray(prior_counts, dtype=np.float64)
    if len(counts) != len(classes):
        raise UserError(f'the prior has {len(counts)} classes, the results '
                        f'{len(classes)}')
    share = counts / counts.sum()
    # zero-count classes would be off a log axis: put them at the minimum
    floor = share[share > 0].min() / 2 if (share > 0).any() else 1.0
    x = np.where(share > 0, share, floor) * 100
    order = np.argsort(x)
    labels = list(labels or [f'result {i + 1}' for i in range(len(results))])
    markers = dict(zip(GROUP_NAMES, ('o', 's', '^')))

    fig, ax = plt.subplots(figsize=(8, 5))
    ys = []
    for i, (result, label) in enumerate(zip(results, labels)):
        if metric not in result['per_class']:
            raise UserError(f'{metric} is not in result {label}; it has '
                            f'{list(result["per_class"])}')
        y = result['per_class'][metric]
        ys.append(y)
        colour = f'C{i}'
        mean = np.nanmean(y) if np.isfinite(y).any() else float('nan')
        ax.plot(x[order], y[order], '-', color=colour, alpha=0.4, lw=1)
        groups = result.get('groups') or ['head'] * len(classes)
        for name in GROUP_NAMES:
            sel = np.array([g == name for g in groups])
            if sel.any():
                ax.scatter(x[sel], y[sel], color=colour,
                           marker=markers[name], s=28, zorder=3,
                           label=(f'{label} (m{metric} {mean:.1f})'
                                  if name == 'head' else None))
    if len(ys) == 2:
        for j in range(len(classes)):
            ax.plot([x[j], x[j]], [ys[0][j], ys[1][j]], color='grey',
                    lw=0.6, alpha=0.6)
    if annotate and len(classes) <= 60:
        for j, name in enumerate(classes):
            if np.isfinite(ys[0][j]):
                ax.annotate(name.strip(), (x[j], ys[0][j]), fontsize=6,
                            xytext=(3, 3), textcoords='offset points')
    group_handles = [
        plt.Line2D([], [], ls='', marker=markers[n], color='k', label=n)
        for n in GROUP_NAMES
    ]
    first = ax.legend(loc='upper left', fontsize=8)
    ax.add_artist(first)
    ax.legend(handles=group_handles, loc='lower right', fontsize=8)
    ax.set_xscale('log')
    ax.set_xlabel('training class frequency (%, log scale)')
    ax.set_ylabel(f'{metric} (%)')
    ax.set_ylim(-2, 102)
    ax.grid(True, which='both', alpha=0.3)
    if title:  # wrapped, so a long one (a config pattern) stays on the figure
        ax.set_title('\n'.join(textwrap.wrap(title, 90)), fontsize=10)
    fig.tight_layout()
    folder = osp.dirname(osp.abspath(out_file))
    mkdir_or_exist(folder)
    fig.savefig(out_file, dpi=150)
    plt.close(fig)
