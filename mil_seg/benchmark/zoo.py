"""The model-zoo tables: result files rendered as markdown between marker
comments of the READMEs, and the check that tables and files agree.

Each result file ``results/NAME.json`` becomes one table between::

    <!-- model-zoo:NAME start -->
    ...
    <!-- model-zoo:NAME end -->

in the README of its task (:data:`~.results.TASK_READMES`). The block
``summary`` of the top-level ``README.md`` is one short table of the rows
that carry a ``"summary"`` column name. Nothing outside the markers is
touched; a result file without markers gets them appended at the end of its
README. ``mil_seg-bench render [--check]`` runs it.
"""
import argparse
import difflib
import os
import os.path as osp
import re
import textwrap
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

from .results import (SUMMARY_COLUMNS, SUMMARY_NAME, TASK_READMES,
                      ResultFileError, atomic_write, load_results,
                      source_root)
from .stats import decimal_cell

TASK_NAMES = {'seg': 'segmentation', 'cls': 'classification'}
SUMMARY_README = 'README.md'
# Column headers of the metric keys the project uses; a file's "headers"
# adds or overrides entries, any other key is its own header.
HEADERS = {
    'mIoU_head': 'head',
    'mIoU_body': 'body',
    'mIoU_tail': 'tail',
    'mIoU_frequent': 'frequent',
    'mIoU_common': 'common',
    'mIoU_rare': 'rare',
    'top1': 'top-1',
    'train_min': 'train min',
    'wall_min': 'wall min',
    'peak_rss_mb': 'peak RSS MB',
    'step_s': 's / step',
    'memory_mb': 'peak MB',
    'time_ratio': 'time vs CE',
    'memory_ratio': 'memory vs CE',
}
MARKER = re.compile(
    r'<!-- model-zoo:(?P<name>[A-Za-z0-9_.-]+) (?P<edge>start|end) -->')
WIDTH = 79


def default_repo() -> str:
    """The repository whose READMEs are rendered when none is named: the
    source checkout of the package, else the working directory."""
    return source_root() or os.getcwd()


def _fail(where: str, problem: str):
    raise ResultFileError(f'{where}: {problem}')


def metric_cell(row: dict, metric: str, with_std: bool = True) -> str:
    """The table cell of one row and metric.

    From ``seeds`` (when they are all of ``seeds_used``), the cell is the
    mean over the seeds, rounded (half up) to the most decimals any seed
    was recorded with, and ``± std`` (sample standard deviation) when there
    are several seeds. Otherwise a value the source reported (``mean`` or
    ``value``) is printed as written. A metric that is neither in every
    seed nor reported is ``-``, an undefined one (null, e.g. an empty class
    group) ``n/a``.

    Args:
        row (dict): A validated row.
        metric (str): The metric key.
        with_std (bool): Append the standard deviation. Defaults to True.

    Returns:
        str: The cell's text.
    """
    seeds = row.get('seeds', {})
    values = [v.get(metric, '-') for v in seeds.values()]
    complete = 'seeds_used' not in row or sorted(map(int, seeds)) == sorted(
        row['seeds_used'])
    if not (values and complete and '-' not in values):
        for form in ('mean', 'value'):
            if metric in row.get(form, {}):
                value = row[form][metric]
                return 'n/a' if value is None else format(
                    Decimal(value), 'f')
        return '-'
    if None in values:
        return 'n/a'
    return decimal_cell(values, with_std)


def seeds_cell(row: dict) -> str:
    """The seeds a row's numbers come from: ``0-4``, ``0, 1`` or ``-``."""
    if 'seeds_used' in row:
        seeds = sorted(int(s) for s in row['seeds_used'])
    elif 'seeds' in row:
        seeds = sorted(int(s) for s in row['seeds'])
    else:
        return '-'
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f'{seeds[0]}-{seeds[-1]}'
    return ', '.join(str(s) for s in seeds)


# ------------------------------------------------------------- rendering


def header(metric: str, headers: Dict[str, str]) -> str:
    """Column header of a metric key (``IoU_<class>`` is the class)."""
    if metric in headers:
        return headers[metric]
    return metric[len('IoU_'):] if metric.startswith('IoU_') else metric


def _link(text: str, target: str, readme_dir: str) -> str:
    # relative to the README: the same wherever the repository is
    path = osp.relpath(target, readme_dir)
    return f'[{text}]({path.replace(os.sep, "/")})'


def _table(header: List[str], rows: List[List[str]]) -> List[str]:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cells) + ' |' for cells in rows]
    return lines


def _wrap(text: str, bullet: str = '- ') -> List[str]:
    return textwrap.wrap(
        bullet + ' '.join(text.split()),
        width=WIDTH,
        subsequent_indent=' ' * len(bullet),
        break_long_words=False,
        break_on_hyphens=False)


def render_table(name: str, data: dict, readme_dir: str) -> str:
    """The markdown block of one result file (between its markers).

    A heading, one table in MMSegmentation's model-zoo form (method, model,
    crop, schedule, settings, seeds, the metrics, config and result-file
    links; columns that no row fills are left out) and bullets with the
    data, machine, command, provenance and notes.

    Args:
        name (str): The file's stem.
        data (dict): The validated file.
        readme_dir (str): Folder of the README, relative to the
            repository (links are relative to it).

    Returns:
        str: The block, without the markers and without a final newline.
    """
    result_file = f'results/{name}.json'
    headers = dict(HEADERS, **data.get('headers', {}))
    notes = []
    columns = {
        'method': [], 'model': [], 'crop': [], 'schedule': [],
        'settings': [], 'seeds': []
    }
    metric_cells = {metric: [] for metric in data['metrics']}
    chosen, configs, links = [], [], []
    for row in data['rows']:
        label = row['label']
        parts = {'notes': '{}', 'source': 'Source: {}.',
                 'commit': 'Commit {}.', 'command': 'Command: `{}`'}
        note = ' '.join(form.format(row[key]) for key, form in parts.items()
                        if key in row)
        if note:
            notes.append((label, note))
            label += f' [{len(notes)}]'
        columns['method'].append(label)
        for key in ('model', 'crop', 'schedule'):
            columns[key].append(row.get(key, data.get(key, '')))
        columns['settings'].append(row.get('settings', ''))
        columns['seeds'].append(seeds_cell(row))
        for metric in data['metrics']:
            metric_cells[metric].append(metric_cell(row, metric))
        chosen.append('yes' if row.get('chosen') else '')
        configs.append(
            _link('config', row['config'], readme_dir)
            if row['config'] else '-')
        links.append(_link('json', result_file, readme_dir))
    # Columns no row fills are left out ('-': seeds the source omits).
    table = [(key, cells) for key, cells in columns.items()
             if key == 'method' or set(cells) - {'', '-'}]
    table += [(header(m, headers), cells)
              for m, cells in metric_cells.items()]
    if data['kind'] == 'tuning':
        table.append(('chosen', chosen))
    table += [('config', configs), ('result', links)]
    body = [list(cells) for cells in zip(*(cells for _, cells in table))]

    lines = [f'### {data["title"]}', '']
    lines += _table([key for key, _ in table], body)
    lines.append('')
    bullets = [f'Data: {data["dataset"]}' +
               (f'; {data["split"]} split.' if 'split' in data else '.')]
    if data.get('machine'):
        bullets.append(f'Machine: {data["machine"]}.')
    if 'command' in data:
        bullets.append(f'Command: `{data["command"]}`')
    if 'rule' in data:
        bullets.append(f'Rule: {data["rule"]}')
    source = data['source'].rstrip('.')
    bullets.append(f'Source: {source}.')
    if 'commit' in data:
        bullets.append(f'Commit: {data["commit"]}' +
                       (f' ({data["date"]}).' if 'date' in data else '.'))
    elif 'date' in data:
        bullets.append(f'Date: {data["date"]}.')
    if 'notes' in data:
        bullets.append(f'Notes: {data["notes"]}')
    bullets += [f'[{i}] {label}: {text}'
                for i, (label, text) in enumerate(notes, 1)]
    for bullet in bullets:
        lines += _wrap(bullet)
    return '\n'.join(lines)


def render_summary(results: Dict[str, dict], readme_dir: str = '.') -> str:
    """The short table of the top-level README.

    One line per result file with ``summary_metrics``: its title, the
    metrics, and for each of :data:`SUMMARY_COLUMNS` the mean of the row
    that names that column.

    Args:
        results (Dict[str, dict]): Validated files by name.
        readme_dir (str): Folder of the README, relative to the
            repository. Defaults to '.'.

    Returns:
        str: The block, without the markers and without a final newline.
    """
    names = ['benchmark', 'metric', *SUMMARY_COLUMNS, 'seeds', 'details']
    body = []
    for name, data in results.items():
        metrics = data.get('summary_metrics')
        if not metrics:
            continue
        headers = dict(HEADERS, **data.get('headers', {}))
        by_column = {row['summary']: row for row in data['rows']
                     if 'summary' in row}
        cells, seeds = [], []
        for column in SUMMARY_COLUMNS:
            row = by_column.get(column)
            if row is None:
                cells.append('-')
                continue
            cells.append(' / '.join(metric_cell(row, m, with_std=False)
                                    for m in metrics))
            if seeds_cell(row) not in seeds:
                seeds.append(seeds_cell(row))
        zoo = TASK_READMES[data['task']]
        details = (_link('model zoo', zoo, readme_dir) + ', ' +
                   _link('json', f'results/{name}.json', readme_dir))
        title = data['title'] + (f' ({data["split"]})' if 'split' in data
                                 else '')
        body.append([title, ' / '.join(header(m, headers) for m in metrics),
                     *cells,
                     '; '.join(seeds), details])
    lines = _table(names, body)
    lines.append('')
    zoos = ', '.join(_link(TASK_NAMES[task], path, readme_dir)
                     for task, path in TASK_READMES.items())
    lines += _wrap(
        'Means over the seeds listed; the GML column is the committed GML '
        f'config. Every table, with std, settings and commands: {zoos}.',
        bullet='')
    return '\n'.join(lines)


def render_blocks(results: Dict[str, dict]) -> Dict[str, Dict[str, str]]:
    """Every rendered block, by README (relative path) and block name."""
    blocks = {path: {} for path in TASK_READMES.values()}
    for name, data in results.items():
        readme = TASK_READMES[data['task']]
        blocks[readme][name] = render_table(name, data, osp.dirname(readme))
    blocks[SUMMARY_README] = {
        SUMMARY_NAME: render_summary(results, osp.dirname(SUMMARY_README)
                                     or '.')
    }
    return blocks


# --------------------------------------------------------------- READMEs


def find_blocks(text: str, where: str) -> Dict[str, Tuple[int, int]]:
    """Spans of the block contents between the markers of a README.

    Args:
        text (str): The README.
        where (str): Its name in errors.

    Returns:
        Dict[str, Tuple[int, int]]: (start, end) offsets of each block's
        content, i.e. after its start marker and before its end marker.

    Raises:
        ResultFileError: For unpaired, nested or repeated markers.
    """
    spans, open_name, open_end = {}, None, 0
    for match in MARKER.finditer(text):
        name, edge = match.group('name'), match.group('edge')
        if edge == 'start':
            if open_name is not None:
                _fail(where, f'model-zoo:{name} starts inside '
                      f'model-zoo:{open_name}')
            if name in spans:
                _fail(where, f'model-zoo:{name} appears twice')
            open_name, open_end = name, match.end()
        else:
            if open_name != name:
                _fail(where, f'model-zoo:{name} end without its start')
            spans[name] = (open_end, match.start())
            open_name = None
    if open_name is not None:
        _fail(where, f'model-zoo:{open_name} start without its end')
    return spans


def update_readme(text: str, blocks: Dict[str, str],
                  where: str) -> Tuple[str, List[str]]:
    """Put rendered blocks between their markers.

    Args:
        text (str): The README.
        blocks (Dict[str, str]): Rendered blocks by name.
        where (str): The README's name in errors.

    Returns:
        Tuple[str, List[str]]: The new text and the names of blocks that
        had no markers (appended at the end).

    Raises:
        ResultFileError: For broken markers, or markers naming no block.
    """
    spans = find_blocks(text, where)
    orphans = sorted(set(spans) - set(blocks))
    if orphans:
        _fail(where, f'table(s) {", ".join(orphans)} have no result file '
              '(results/NAME.json): remove their markers or add the file')
    pieces, last = [], 0
    for name, (start, end) in sorted(spans.items(), key=lambda s: s[1]):
        pieces += [text[last:start], '\n' + blocks[name] + '\n']
        last = end
    pieces.append(text[last:])
    new_text = ''.join(pieces)
    missing = [name for name in blocks if name not in spans]
    for name in missing:
        new_text = new_text.rstrip('\n') + (
            f'\n\n<!-- model-zoo:{name} start -->\n{blocks[name]}\n'
            f'<!-- model-zoo:{name} end -->\n')
    return new_text, missing


def check(repo: Optional[str] = None,
          results_dir: Optional[str] = None) -> List[str]:
    """Compare the READMEs with what the result files render.

    Args:
        repo (str): Repository root. Defaults to None:
            :func:`default_repo`.
        results_dir (str, optional): Folder of the result files. Defaults
            to ``<repo>/results``.

    Returns:
        List[str]: One message per README table that differs from its
        file (with a unified diff) or is missing; empty when up to date.

    Raises:
        ResultFileError: For a malformed result file or broken markers.
    """
    repo = repo or default_repo()
    results = load_results(results_dir or osp.join(repo, 'results'), repo)
    problems = []
    for readme, blocks in render_blocks(results).items():
        with open(osp.join(repo, readme), encoding='utf-8') as f:
            text = f.read()
        spans = find_blocks(text, readme)
        update_readme(text, blocks, readme)  # raises for orphan markers
        for name, block in blocks.items():
            if name not in spans:
                problems.append(
                    f'{readme}: no table {name} (add the markers '
                    f'<!-- model-zoo:{name} start --> and '
                    f'<!-- model-zoo:{name} end -->)')
                continue
            start, end = spans[name]
            old = text[start:end]
            if old != '\n' + block + '\n':
                diff = difflib.unified_diff(
                    old.strip('\n').splitlines(), block.splitlines(),
                    f'{readme} (committed)', f'{readme} (rendered)',
                    lineterm='')
                source = ('its result files' if name == SUMMARY_NAME else
                          f'results/{name}.json')
                problems.append(f'{readme}: table {name} differs from '
                                f'{source}:\n' + '\n'.join(diff))
    return problems


def write(repo: Optional[str] = None,
          results_dir: Optional[str] = None) -> List[str]:
    """Rewrite the READMEs' tables from the result files.

    Args:
        repo (str): Repository root. Defaults to None:
            :func:`default_repo`.
        results_dir (str, optional): Folder of the result files. Defaults
            to ``<repo>/results``.

    Returns:
        List[str]: The READMEs that changed.
    """
    repo = repo or default_repo()
    results = load_results(results_dir or osp.join(repo, 'results'), repo)
    changed = []
    for readme, blocks in render_blocks(results).items():
        path = osp.join(repo, readme)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        new_text, _ = update_readme(text, blocks, readme)
        if new_text != text:
            atomic_write(path, new_text)
            changed.append(readme)
    return changed



def render_main(argv: Optional[Sequence[str]] = None) -> int:
    """``mil_seg-bench render [--check]``; returns the exit status.

    Args:
        argv (Sequence[str], optional): The arguments after ``render``.
            Defaults to None (``sys.argv``).

    Returns:
        int: 0 when up to date (or rewritten), 1 when ``--check`` finds a
        stale table.

    Raises:
        ResultFileError: For a malformed result file or broken markers
            (the command prints it as one ``error:`` line).
    """
    parser = argparse.ArgumentParser(
        prog='mil_seg-bench render',
        description='Render the model-zoo tables of the READMEs from the '
        'result files')
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 and print the differing tables when a '
        'README is out of date')
    parser.add_argument(
        '--repo', default=None, help='repository root (default: the '
        'checkout of the package, else the working directory)')
    parser.add_argument(
        '--results', default=None, help='result files (default: REPO/results)')
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.repo, args.results)
        for problem in problems:
            print(problem)
        if problems:
            print(f'{len(problems)} table(s) out of date: run '
                  'mil_seg-bench render')
            return 1
        print('model-zoo tables are up to date')
        return 0
    for readme in write(args.repo, args.results):
        print(f'updated {readme}')
    return 0
