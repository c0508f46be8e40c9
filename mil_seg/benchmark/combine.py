"""One table from several result files whose rows share their labels: a
design study, or the benchmark, on several datasets or segmentors side by
side.

    mil_seg-bench combine 'CamVid FCN=camvid-fcn-800-gml-design.json' \\
        'CamVid DLv3+=camvid-deeplabv3plus-800-gml-design.json' \\
        'CCP FCN=ccp-fcn-800-gml-design.json' \\
        --metrics mIoU mIoU_tail --results-out results/gml-design.json

Each source is ``NAME=FILE``. The combined file has a row per label (the
first file's order, then labels only later files have) and a column per
metric and source (``<metric>@<NAME>``, headed ``<metric> (NAME)``), each
with the source row's values per seed; the rows' recorded differences
(:func:`.report.recorded_row`: to the reference of a design study, to CE
and the best of the benchmark) are kept per source the same way, so the
model zoo renders one table of values and one of differences with their
intervals. Nothing is recomputed: the numbers are the sources'. A metric
that a file lacks, or a row whose seeds differ between files (a cell is
the mean over its row's seeds), is refused rather than left blank.
"""
import argparse
import os.path as osp
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from .results import SCHEMA_VERSION, load_result, provenance, write_result
from .zoo import HEADERS, header

#: The metrics combined when ``--metrics`` is not given.
DEFAULT_METRICS = ('mIoU', 'mIoU_tail')


def column(metric: str, name: str) -> str:
    """The combined file's key of ``metric`` from source ``name``."""
    return f'{metric}@{name}'


def build_parser() -> argparse.ArgumentParser:
    """The command's arguments."""
    parser = argparse.ArgumentParser(
        prog='mil_seg-bench combine', description=__doc__.split('\n\n')[0])
    parser.add_argument('sources', nargs='+', metavar='NAME=FILE',
                        help='a result file and the short name its columns '
                        'take, e.g. "CCP FCN=ccp-fcn-800-gml-design.json"')
    parser.add_argument('--metrics', nargs='+', default=list(DEFAULT_METRICS),
                        metavar='METRIC', help='the metrics of each source '
                        f'(default: {" ".join(DEFAULT_METRICS)})')
    parser.add_argument('--title', default=None,
                        help='the combined table\'s heading (default: the '
                        'first title\'s words before its first comma, and '
                        'the names)')
    parser.add_argument('--results-out', required=True, metavar='FILE',
                        help='the combined result file (.json)')
    return parser


def parse_sources(parser: argparse.ArgumentParser,
                  items: Sequence[str]) -> List[Tuple[str, str]]:
    """``NAME=FILE`` items as ``(name, path)``, checked: two or more,
    distinct names, no ``@`` in a name (it separates a column's metric from
    its source)."""
    sources = []
    for item in items:
        name, sep, path = item.partition('=')
        name = name.strip()
        if not sep or not name or not path or '@' in name:
            parser.error(f'{item!r}: give NAME=FILE (a short name without '
                         '"@", then the result file), e.g. "CCP FCN=ccp.json"')
        sources.append((name, path))
    names = [name for name, _ in sources]
    if len(sources) < 2:
        parser.error('give two or more NAME=FILE sources to combine')
    if len(set(names)) != len(names):
        parser.error(f'source names must differ, got {", ".join(names)}')
    return sources


def _same_or_joined(values: Sequence[Tuple[str, Any]]) -> Optional[str]:
    """One value when the sources agree, else ``NAME: value`` joined; None
    when no source has one."""
    given = [(name, value) for name, value in values if value]
    if not given:
        return None
    if len({value for _, value in given}) == 1:
        return given[0][1]
    return '; '.join(f'{name}: {value}' for name, value in given)


def _check_source(name: str, path: str, data: dict,
                  metrics: Sequence[str]) -> None:
    if data['kind'] != 'accuracy':
        raise UserError(f'{path} ({name}): a {data["kind"]} file; only '
                        'accuracy files (the benchmark\'s and the design '
                        'study\'s) combine')
    missing = [m for m in metrics if m not in data['metrics']]
    if missing:
        raise UserError(f'{path} ({name}) has no {", ".join(missing)} (its '
                        f'metrics: {", ".join(data["metrics"])}); choose '
                        '--metrics among them')
    for row in data['rows']:
        if 'seeds' not in row:
            raise UserError(f'{path} ({name}): row {row["label"]!r} has no '
                            'per-seed values ("seeds"); only files the '
                            'benchmark wrote combine')


def combine(sources: Sequence[Tuple[str, dict]], metrics: Sequence[str],
            title: Optional[str] = None,
            made_by: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The combined result file.

    Args:
        sources (Sequence[tuple[str, dict]]): ``(name, validated file)``,
            in column order; each must have every metric and per-seed rows.
        metrics (Sequence[str]): The metrics of each source.
        title (str, optional): The heading. Defaults to None (the first
            title up to its first comma, and the names).
        made_by (dict, optional): Its ``command``, ``commit`` and ``date``
            (:func:`.results.provenance`). Defaults to None (none).

    Returns:
        dict: The file: its ``metrics`` are ``<metric>@<name>`` for each
        source, then each metric.
    """
    names = [name for name, _ in sources]
    columns = [column(m, name) for name in names for m in metrics]
    rows: Dict[str, Dict[str, Any]] = {}
    parts: Dict[str, List[Tuple[str, dict]]] = {}
    for name, data in sources:
        for row in data['rows']:
            parts.setdefault(row['label'], []).append((name, row))
    for label, found in parts.items():
        seed_sets = {name: sorted(row['seeds'], key=int)
                     for name, row in found}
        if len({tuple(s) for s in seed_sets.values()}) > 1:
            # a table cell is the mean over the row's seeds: one set
            raise UserError(f'row {label!r} has other seeds in each file ('
                            + '; '.join(f'{n}: {" ".join(s)}'
                                        for n, s in seed_sets.items())
                            + '): combine runs of the same seeds (run the '
                            'missing ones, or leave a file out)')
        seeds: Dict[str, Dict[str, Any]] = {}
        differences: Dict[str, Dict[str, Any]] = {}
        for name, row in found:
            for seed, values in row['seeds'].items():
                seeds.setdefault(seed, {}).update(
                    (column(m, name), values.get(m)) for m in metrics)
            for other, comparison in row.get('differences', {}).items():
                combined = differences.setdefault(
                    other, dict(seeds=set(), metrics={}))
                combined['seeds'] |= set(comparison['seeds'])
                combined['metrics'].update(
                    (column(m, name), comparison['metrics'][m])
                    for m in metrics if m in comparison['metrics'])
        configs = {r['config'] for _, r in found}
        # a choice's config differs between segmentors: no one link then
        entry: Dict[str, Any] = dict(
            label=label, config=configs.pop() if len(configs) == 1 else None,
            seeds=seeds)
        settings = _same_or_joined([(n, r.get('settings')) for n, r in found])
        if settings:
            entry['settings'] = settings
        kept = {other: dict(seeds=sorted(c['seeds']), metrics=c['metrics'])
                for other, c in differences.items()
                if c['metrics'] and other in parts}
        if kept:
            entry['differences'] = kept
        rows[label] = entry

    first = sources[0][1]
    data: Dict[str, Any] = dict(
        schema=SCHEMA_VERSION,
        title=title or (f'{first["title"].split(",")[0]}: '
                        f'{", ".join(names)}'),
        task=first['task'], kind='accuracy',
        dataset=_same_or_joined([(n, d['dataset']) for n, d in sources]),
        metrics=columns,
        headers={column(m, name):
                 f'{header(m, {**HEADERS, **d.get("headers", {})})} ({name})'
                 for name, d in sources for m in metrics},
        **(made_by or {}),
        source='combined by mil_seg-bench combine from ' + '; '.join(
            f'{name}: {d["title"]}' + (f' (commit {d["commit"]})'
                                       if d.get('commit') else '')
            for name, d in sources),
        rows=list(rows.values()))
    for key in ('split', 'model', 'crop', 'schedule', 'machine', 'notes'):
        value = _same_or_joined([(n, d.get(key)) for n, d in sources])
        if value:
            data[key] = value
    # one resampling rule in every file; the image counts differ by data
    boots = [{k: v for k, v in d['bootstrap'].items() if k != 'images'}
             for _, d in sources if 'bootstrap' in d]
    if boots and all(b == boots[0] for b in boots):
        data['bootstrap'] = boots[0]
    return data


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Combine the sources of the command line into one result file."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.results_out.endswith('.json'):
        parser.error('--results-out names a .json file')
    sources = parse_sources(parser, args.sources)
    loaded = []
    for name, path in sources:
        if not osp.isfile(path):
            raise UserError(f'{path} ({name}): no such file')
        data = load_result(path)
        _check_source(name, path, data, args.metrics)
        loaded.append((name, data))
    data = combine(loaded, args.metrics, args.title,
                   provenance(['mil_seg-bench', 'combine', *argv]))
    write_result(data, args.results_out)
    print(f'{len(data["rows"])} rows x {len(data["metrics"])} columns: '
          f'{args.results_out}')
