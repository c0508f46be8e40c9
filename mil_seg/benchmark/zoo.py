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

from .results import (INDEX_NAME, STANDING_NAME, SUMMARY_NAME, TASK_READMES,
                      ResultFileError, atomic_write, load_results, parse,
                      source_root)
from .stats import decimal_cell, decimal_mean

TASK_NAMES = {'seg': 'segmentation', 'cls': 'classification'}
SUMMARY_README = 'README.md'
#: The README of the full tables the model zoos leave out (and the index).
RESULTS_README = 'results/README.md'
#: Where a file's full table renders (``render`` in the index).
RENDER_PLACES = ('zoo', 'results', 'nowhere')
#: A file's ``status`` in the index.
STATUSES = ('current', 'history')
#: The columns of a compact (current) table, beside method and links.
CURRENT_METRICS = ('mIoU', 'mIoU_tail', 'mIoU_rare')
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


def _link(text: str, target: str, readme_dir: str, anchor: str = '') -> str:
    # relative to the README: the same wherever the repository is
    path = osp.relpath(target, readme_dir)
    return f'[{text}]({path.replace(os.sep, "/")}{anchor})'


def _anchor(heading: str) -> str:
    """The ``#fragment`` GitHub gives a markdown heading."""
    return '#' + re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-')


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
    lines += render_differences(data, headers)
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
    unlearned = unlearned_text(data['rows'], data['metrics'])
    if unlearned:
        bullets.append(unlearned)
    bullets += [f'[{i}] {label}: {text}'
                for i, (label, text) in enumerate(notes, 1)]
    for bullet in bullets:
        lines += _wrap(bullet)
    return '\n'.join(lines)


#: IoU (points) below which a class counts as not learned.
UNLEARNED_IOU = 1


def unlearned_classes(rows: List[dict], metrics: List[str]
                      ) -> Optional[Tuple[int, List[str]]]:
    """The classes none of ``rows`` learns: IoU below
    :data:`UNLEARNED_IOU` at every seed of every row.

    Only rows that record every class's IoU per seed (the benchmark's,
    since it keeps them all: ``IoU_<class>`` keys beyond the file's
    ``metrics``) can say it; an undefined IoU (no pixel of the class
    evaluated) is no evidence either way and leaves its class out.

    Args:
        rows (List[dict]): Rows of a validated file.
        metrics (List[str]): The file's ``metrics`` (the shown columns).

    Returns:
        Optional[Tuple[int, List[str]]]: The number of classes recorded
        and the names of those not learned, in the rows' order; None where
        a row has no per-seed values or not every class's IoU.
    """
    if not rows or not all(row.get('seeds') for row in rows):
        return None
    seeds = [values for row in rows for values in row['seeds'].values()]
    keys = [key for key in seeds[0] if key.startswith('IoU_')]
    if not set(keys) - set(metrics) or any(
            {key for key in values if key.startswith('IoU_')} != set(keys)
            for values in seeds):
        return None
    names = [key[len('IoU_'):] for key in keys
             if all(values[key] is not None and values[key] < UNLEARNED_IOU
                    for values in seeds)]
    return len(keys), names


def unlearned_text(rows: List[dict], metrics: List[str]) -> Optional[str]:
    """:func:`unlearned_classes` as a sentence, or None."""
    found = unlearned_classes(rows, metrics)
    if found is None:
        return None
    count, names = found
    return (f'Classes no row learns (IoU below {UNLEARNED_IOU} at every seed '
            f'of every row), of the {count} classes: '
            f'{", ".join(names) if names else "none"}.')


def difference_text(difference: dict) -> str:
    """A recorded difference as the benchmark prints it: ``+1.23 [0.41,
    2.05]*`` (``*``: the interval excludes 0); ``n/a`` when undefined."""
    if difference['estimate'] is None:
        return 'n/a'
    text = format(Decimal(difference['estimate']), '+f')
    if difference['low'] is None or difference['high'] is None:
        return text
    return (f"{text} [{format(Decimal(difference['low']), 'f')}, "
            f"{format(Decimal(difference['high']), 'f')}]" +
            ('*' if difference['significant'] else ''))


def recorded_difference(rows: Dict[str, dict], label: str, other: str,
                        metric: str) -> Optional[dict]:
    """Row ``label`` minus row ``other`` in ``metric``, as either row
    recorded it (the other's, negated: the paired bootstrap's interval of
    b - a is that of a - b mirrored); None where neither did."""
    found = rows[label].get('differences', {}).get(other, {})
    if metric in found.get('metrics', {}):
        return found['metrics'][metric]
    found = rows[other].get('differences', {}).get(label, {})
    difference = found.get('metrics', {}).get(metric)
    if difference is None or difference['estimate'] is None:
        return difference

    def negated(value):
        return None if value is None else -Decimal(value)

    return dict(estimate=negated(difference['estimate']),
                low=negated(difference['high']),
                high=negated(difference['low']),
                significant=difference['significant'])


#: Where a current table says where the method the project is built around
#: stands: the rows whose label starts so (GML and its variants).
GML_PREFIX = 'GML'


def best_gml_variant(ranked: List[Tuple[str, dict]]
                     ) -> Optional[Tuple[str, dict]]:
    """The first GML row (its label starts with 'GML') of rows ranked by
    mIoU, as ``(method, row)``; None without one."""
    return next(((method, row) for method, row in ranked
                 if row['label'].startswith(GML_PREFIX)), None)


def _ordinal(place: int) -> str:
    suffix = {1: 'st', 2: 'nd', 3: 'rd'}.get(
        place % 10 if place % 100 not in (11, 12, 13) else 0, 'th')
    return f'{place}{suffix}'


def standing_cell(ranked: List[Tuple[str, dict]], label: str,
                  metric: str) -> str:
    """Where row ``label`` stands among a table's rows in ``metric``: its
    place by mean, and its recorded difference (with the interval) to the
    first, or, where it is first, to the second.

    Args:
        ranked (List[Tuple[str, dict]]): :func:`ranked_rows`' rows.
        label (str): The row's label.
        metric (str): The metric.

    Returns:
        str: E.g. ``1st of 17, +0.41 [0.12, 0.70]* over Class-weighted
        CE`` or ``3rd of 17, -0.52 [-0.80, -0.24]* against ...``.
    """
    order = sorted(ranked, key=_by_mean(metric))
    rows = {row['label']: row for _, row in ranked}
    names = {row['label']: method for method, row in ranked}
    place = next(i for i, (_, row) in enumerate(order, 1)
                 if row['label'] == label)
    text = f'{_ordinal(place)} of {len(order)}'
    if len(order) == 1 or not any(row.get('differences')
                                  for row in rows.values()):
        return text
    other = order[1 if place == 1 else 0][1]['label']
    word = 'over' if place == 1 else 'against'
    difference = recorded_difference(rows, label, other, metric)
    if difference is None:
        return f'{text} (no recorded difference to {names[other]})'
    return f'{text}, {difference_text(difference)} {word} {names[other]}'


def render_standing(results: Dict[str, dict], index: dict,
                    readme_dir: str) -> str:
    """The block of the segmentation model zoo that says, per current
    table, where the best GML variant (by mIoU) stands in mIoU and in tail,
    with the intervals the benchmark recorded.

    Args:
        results (Dict[str, dict]): Validated files by name.
        index (dict): The index (:func:`load_index`).
        readme_dir (str): Folder of the README, relative to the repository.

    Returns:
        str: The block, without the markers and without a final newline.
    """
    body = []
    for table in index['current']:
        ranked = ranked_rows(table, results)
        variant = best_gml_variant(ranked)
        link = f'[{table["title"]}]({_anchor(table["title"])})'
        if variant is None:
            body.append([link, '-', '-', '-'])
            continue
        method, row = variant
        body.append([link, method] + [
            standing_cell(ranked, row['label'], metric)
            for metric in ('mIoU', 'mIoU_tail')])
    lines = ['### Where the best GML variant stands', '']
    lines += _table(['table', 'best GML variant (by mIoU)', 'mIoU', 'tail'],
                    body)
    lines.append('')
    lines += _wrap(
        'For each table below: the place of its best GML variant among all '
        'its rows by mean over seeds, and its difference to the first (to '
        'the second where it is first) in points, with the 95 % paired-'
        'bootstrap interval its result file recorded (* excludes 0); a '
        'table run before the benchmark recorded differences gives the '
        'place only.', bullet='')
    return '\n'.join(lines)


def render_differences(data: dict, headers: Dict[str, str]) -> List[str]:
    """The rows' recorded differences (``differences``) as a second table:
    a row per method and the row it is compared with, a column per metric
    compared, the file's metric order; nothing for a file without them."""
    pairs = [(row['label'], other, comparison)
             for row in data['rows']
             for other, comparison in row.get('differences', {}).items()]
    if not pairs:
        return []
    metrics = [m for m in data['metrics']
               if any(m in comparison['metrics'] for *_, comparison in pairs)]
    bootstrap = data.get('bootstrap', {})
    about = ('Differences in points: the method minus the other row, mean '
             'over the seeds both have')
    if 'confidence' in bootstrap:
        about += (f', [{100 * float(bootstrap["confidence"]):g} % interval '
                  'of a paired bootstrap over the evaluation images]')
    about += ', * the interval excludes 0.'
    body = [[label, other] + [difference_text(comparison['metrics'][m])
                              if m in comparison['metrics'] else '-'
                              for m in metrics]
            for label, other, comparison in pairs]
    lines = _wrap(about, bullet='') + ['']
    lines += _table(['method', 'minus'] + [header(m, headers)
                                           for m in metrics], body)
    return lines + ['']


# ----------------------------------------------------------------- index


def _index_fail(problem: str):
    _fail(f'results/{INDEX_NAME}.json', problem)


def load_index(results_dir: str, results: Dict[str, dict]) -> dict:
    """Read and check ``results/index.json``: where each file renders.

    Its fields: ``files`` (every result file: ``status`` current or
    history, ``render`` zoo, results or nowhere, ``note`` one sentence of
    context), ``current`` (the compact tables of the segmentation model
    zoo: ``name`` of the block, ``title``, ``results`` the accuracy file,
    ``model`` its rows shown, optional ``cost`` (a file with the rows'
    ``time_ratio``) and ``tuning`` (the file that chose the tuned values),
    ``summary`` the label of its CE row) and ``summary`` (the lines of
    the top-level summary: current tables, or files with
    ``summary_metrics``).

    Args:
        results_dir (str): The results folder.
        results (Dict[str, dict]): Its validated files by name.

    Returns:
        dict: The parsed index.

    Raises:
        ResultFileError: When the index is missing, malformed, names a file
            that does not exist, or leaves a result file out.
    """
    path = osp.join(results_dir, f'{INDEX_NAME}.json')
    if not osp.isfile(path):
        _index_fail('missing: it lists every result file and where it '
                    'renders (results/README.md)')
    with open(path, encoding='utf-8') as f:
        try:
            index = parse(f.read())
        except (ValueError, ResultFileError) as error:
            _index_fail(f'not valid JSON: {error}')
    if not isinstance(index, dict) or set(index) - {'about'} != {
            'files', 'current', 'summary'}:
        _index_fail('expected an object of "files", "current", "summary" '
                    'and optionally "about"')
    files = index['files']
    if not isinstance(files, dict):
        _index_fail('"files": expected an object of file: entry')
    for field in ('current', 'summary'):
        if not isinstance(index[field], list):
            _index_fail(f'"{field}": expected a list')
    unlisted = sorted(set(results) - set(files))
    if unlisted:
        _index_fail(f'result file(s) {", ".join(unlisted)} not listed in '
                    '"files": add each with its "status" (current or '
                    'history), "render" (zoo, results or nowhere) and '
                    '"note", so that no result is silently left out')
    for name, entry in files.items():
        where = f'"files"."{name}"'
        if name not in results:
            _index_fail(f'{where}: no file results/{name}.json')
        if not isinstance(entry, dict) or set(entry) != {
                'status', 'render', 'note'}:
            _index_fail(f'{where}: expected "status", "render" and "note"')
        if entry['status'] not in STATUSES:
            _index_fail(f'{where}: status: expected one of '
                        f'{", ".join(STATUSES)}, got {entry["status"]!r}')
        if entry['render'] not in RENDER_PLACES:
            _index_fail(f'{where}: render: expected one of '
                        f'{", ".join(RENDER_PLACES)}, got '
                        f'{entry["render"]!r}')
        if not isinstance(entry['note'], str) or not entry['note'].strip():
            _index_fail(f'{where}: note: expected a sentence')
    tables = {}
    for i, table in enumerate(index['current']):
        where = f'"current"[{i}]'
        if not isinstance(table, dict) or not {
                'name', 'title', 'results', 'model', 'summary'} <= set(
                    table) or not set(table) <= {
                        'name', 'title', 'results', 'model', 'summary',
                        'cost', 'tuning'}:
            _index_fail(f'{where}: expected "name", "title", "results", '
                        '"model", "summary" and optionally "cost", '
                        '"tuning"')
        name = table['name']
        if not MARKER.fullmatch(f'<!-- model-zoo:{name} start -->') or (
                name in results or name in tables or name in (
                    SUMMARY_NAME, STANDING_NAME, 'index')):
            _index_fail(f'{where}: name {name!r} is not a new block name')
        for field, kind in (('results', 'accuracy'), ('cost', 'cost'),
                            ('tuning', 'tuning')):
            if field in table and (table[field] not in results or results[
                    table[field]]['kind'] != kind):
                _index_fail(f'{where}: {field}: expected a result file of '
                            f'kind {kind}, got {table[field]!r}')
        rows = current_rows(results[table['results']], table['model'],
                            f'results/{table["results"]}.json')
        labels = {method for method, _ in rows}
        if not isinstance(table['summary'], dict) or set(
                table['summary']) != {'CE'} or not set(
                table['summary'].values()) <= labels:
            _index_fail(f'{where}: summary: expected {{"CE": the label of '
                        f'its CE row}} among {sorted(labels)} (the GML '
                        'column shows the best GML variant)')
        tables[name] = table
    for name in index['summary']:
        if name not in tables and not (
                name in results and results[name].get('summary_metrics')):
            _index_fail(f'"summary": {name!r} is neither a current table '
                        'nor a result file with "summary_metrics"')
    _check_headings(results, index)
    return index


def file_readme(name: str, entry: dict, results: Dict[str, dict]) -> str:
    """The README a result file of the index's ``files`` renders into
    (``render`` 'results': the results README; 'zoo': its task's model
    zoo)."""
    return (RESULTS_README if entry['render'] == 'results' else
            TASK_READMES[results[name]['task']])


def _check_headings(results: Dict[str, dict], index: dict) -> None:
    """No two tables of one README under one heading: their links (the
    heading's anchor) would lead to the first."""
    seen: Dict[Tuple[str, str], str] = {}
    headings = [(TASK_READMES[results[t['results']]['task']], t['title'],
                 f'"current" table {t["name"]!r}') for t in index['current']]
    for name, entry in index['files'].items():
        if entry['render'] != 'nowhere':
            headings.append((file_readme(name, entry, results),
                             results[name]['title'],
                             f'results/{name}.json'))
    for readme, title, owner in headings:
        first = seen.setdefault((readme, _anchor(title)), owner)
        if first != owner:
            _index_fail(f'{owner} and {first} render under one heading in '
                        f'{readme}, {title!r}, so links to the second lead '
                        'to the first: give one of them another "title" '
                        '(mil_seg-bench names the data with --dataset-label)')


# ------------------------------------------------------- current tables


def metric_mean(row: dict, metric: str) -> Optional[Decimal]:
    """The unrounded number :func:`metric_cell` shows: the mean over the
    seeds, else the reported mean or value; None where it shows ``-`` or
    ``n/a``."""
    seeds = row.get('seeds', {})
    values = [v.get(metric, '-') for v in seeds.values()]
    complete = 'seeds_used' not in row or sorted(map(int, seeds)) == sorted(
        row['seeds_used'])
    if values and complete and '-' not in values:
        return None if None in values else decimal_mean(values)
    for form in ('mean', 'value'):
        value = row.get(form, {}).get(metric)
        if value is not None:
            return Decimal(value)
    return None


def current_rows(data: dict, model: str,
                 where: str) -> List[Tuple[str, dict]]:
    """The rows of one model that a compact table shows: one per method.

    A config's row trained at other settings (the held-out-tuned value)
    stands for the config as committed where the file has both. A config
    with no row as committed may carry several methods, each at its own
    settings (GML and GML's post-hoc prior strength evaluate one config):
    each of its rows is shown, under its own label.

    Args:
        data (dict): A validated accuracy file.
        model (str): The rows' model (the row's, else the file's).
        where (str): The file, for errors.

    Returns:
        List[Tuple[str, dict]]: (method label, row) in file order; the label
        is that of the config's row without settings, where there is one.
    """
    groups = {}
    for row in data['rows']:
        if row.get('model', data.get('model')) != model:
            continue
        if row['config'] is None:
            _fail(where, f'row {row["label"]!r} of a current table has no '
                  'config')
        groups.setdefault(row['config'], []).append(row)
    if not groups:
        _fail(where, f'no row of model {model!r}')
    shown = []
    for config, group in groups.items():
        plain = [row for row in group if 'settings' not in row]
        tuned = [row for row in group if 'settings' in row]
        labels = [row['label'] for row in tuned]
        if len(plain) > 1 or (plain and len(tuned) > 1) or \
                len(set(labels)) < len(labels):
            _fail(where, f'{config}: a current table takes at most one row '
                  'as committed and one at other (tuned) settings per '
                  'config and model, or, with none as committed, rows at '
                  'settings of distinct labels (one per method)')
        if plain:
            shown.append((plain[0]['label'], (tuned or plain)[0]))
        else:
            shown.extend((row['label'], row) for row in tuned)
    return shown


def _trained_at(row: dict) -> str:
    """``tau=0.5`` for settings ``model.decode_head.prior.tau=0.5``."""
    if 'settings' not in row:
        return 'config'
    parts = []
    for part in row['settings'].split(','):
        key, equals, value = part.strip().partition('=')
        parts.append(key.rsplit('.', 1)[-1] + equals + value
                     if equals else part.strip())
    return ', '.join(parts)


def _by_mean(metric: str):
    """Sort key: highest mean of the metric first, undefined last."""

    def key(item):
        mean = metric_mean(item[1], metric)
        return (mean is None, -(mean or 0))

    return key


def ranked_rows(table: dict,
                results: Dict[str, dict]) -> List[Tuple[str, dict]]:
    """A current table's rows, highest mean mIoU first."""
    rows = current_rows(results[table['results']], table['model'],
                        f'results/{table["results"]}.json')
    return sorted(rows, key=_by_mean('mIoU'))


def _cost_row(row: dict, model: str, cost: Optional[dict]) -> dict:
    """The row of a cost file with the same model, config and settings."""
    if 'time_ratio' in row.get('mean', {}) or any(
            'time_ratio' in seed for seed in row.get('seeds', {}).values()):
        return row
    for other in (cost or {}).get('rows', []):
        if (other.get('model', cost.get('model')) == model
                and other['config'] == row['config']
                and other.get('settings') == row.get('settings')):
            return other
    return {}


def render_current(table: dict, results: Dict[str, dict],
                   readme_dir: str) -> str:
    """The compact model-zoo table of one dataset, segmentor and schedule.

    A row per method at its held-out-tuned value (:func:`current_rows`),
    highest mean mIoU first: the value it trained at, seeds, mIoU, tail and
    rare (mean ± std over the seeds), time vs CE, config and result file.

    Args:
        table (dict): The index's entry.
        results (Dict[str, dict]): Validated files by name.
        readme_dir (str): Folder of the README (links are relative to it).

    Returns:
        str: The block, without the markers and without a final newline.
    """
    data = results[table['results']]
    cost = results.get(table.get('cost'))
    headers = dict(HEADERS, **data.get('headers', {}))
    result_file = f'results/{table["results"]}.json'
    body = []
    ranked = ranked_rows(table, results)
    for method, row in ranked:
        time_row = _cost_row(row, table['model'], cost)
        links = _link('json', result_file, readme_dir)
        if time_row and time_row is not row:
            links += ', ' + _link('cost', f'results/{table["cost"]}.json',
                                  readme_dir)
        body.append([method, _trained_at(row), seeds_cell(row)] +
                    [metric_cell(row, m) for m in CURRENT_METRICS] +
                    [metric_cell(time_row, 'time_ratio') if time_row
                     else '-',
                     _link('config', row['config'], readme_dir), links])
    lines = [f'### {table["title"]}', '']
    lines += _table(['method', 'trained at', 'seeds'] +
                    [header(m, headers) for m in CURRENT_METRICS] +
                    ['time vs CE', 'config', 'result'], body)
    lines.append('')
    text = f'{data["dataset"]}, {data["split"]} split; '
    if 'tuning' in table:
        text += ('the tuning ' + _link('trials', f'results/{table["tuning"]}'
                                       '.json', readme_dir) + '; ')
    text += ('every class group and class, machines and commands: ' +
             _link('full table', RESULTS_README, readme_dir,
                   _anchor(data['title'])) + '.')
    unlearned = unlearned_text([row for _, row in ranked], data['metrics'])
    if unlearned:
        text += ' ' + unlearned
    lines += _wrap(text, bullet='')
    return '\n'.join(lines)


# ---------------------------------------------------------------- summary


def _named(label: str, row: dict) -> str:
    """A row's label with the value it trained at, where that is not its
    config's (:func:`_trained_at`)."""
    at = _trained_at(row)
    return label + (f' ({at})' if at != 'config' else '')


def render_summary(results: Dict[str, dict], index: dict,
                   readme_dir: str = '.') -> str:
    """The short table of the top-level README: per line of the index's
    ``summary``, the best method by the first metric beside the best GML
    variant and CE.

    Args:
        results (Dict[str, dict]): Validated files by name.
        index (dict): The index (:func:`load_index`).
        readme_dir (str): Folder of the README, relative to the
            repository. Defaults to '.'.

    Returns:
        str: The block, without the markers and without a final newline.
    """
    tables = {table['name']: table for table in index['current']}
    body, leaders = [], {}
    for name in index['summary']:
        if name in tables:
            table = tables[name]
            data = results[table['results']]
            metrics = ['mIoU', 'mIoU_tail']
            rows = ranked_rows(table, results)
            columns = [best_gml_variant(rows) or ('', {}),
                       (table['summary']['CE'],
                        dict(rows)[table['summary']['CE']])]
            title = f'{table["title"]} ({data["split"]})'
            zoo = _link('model zoo', TASK_READMES[data['task']],
                        readme_dir, _anchor(table['title']))
            files = [table['results']] + ([table['cost']]
                                          if 'cost' in table else [])
        else:
            data = results[name]
            metrics = data['summary_metrics']
            rows = sorted(((row['label'], row) for row in data['rows']),
                          key=_by_mean(metrics[0]))
            ce = next((row for row in data['rows']
                       if row.get('summary') == 'CE'), {})
            columns = [best_gml_variant(rows) or ('', {}), ('CE', ce)]
            title = data['title'] + (f' ({data["split"]})'
                                     if 'split' in data else '')
            zoo = _link('model zoo', TASK_READMES[data['task']], readme_dir)
            files = [name]
        headers = dict(HEADERS, **data.get('headers', {}))

        def cells(row):
            if not row:
                return '-'
            return ' / '.join(metric_cell(row, m, with_std=False)
                              for m in metrics)

        best_name = _named(*rows[0])
        leaders.setdefault(best_name, []).append(
            table['title'] if name in tables else data['title'])
        seeds = []
        for _, row in [rows[0]] + columns:
            if row and seeds_cell(row) not in seeds:
                seeds.append(seeds_cell(row))
        (gml_label, gml), (_, ce) = columns
        details = ', '.join([zoo] + [
            _link('cost' if results[f]['kind'] == 'cost' else 'json',
                  f'results/{f}.json', readme_dir) for f in files])
        body.append([title, ' / '.join(header(m, headers) for m in metrics),
                     f'{best_name}: {cells(rows[0][1])}',
                     '(the best)' if gml is rows[0][1] else
                     f'{_named(gml_label, gml)}: {cells(gml)}' if gml
                     else '-', cells(ce), '; '.join(seeds), details])
    lines = _table(['benchmark', 'metric', 'best (by the first metric)',
                    'best GML variant', 'CE', 'seeds', 'details'], body)
    lines.append('')
    zoos = ', '.join(_link(TASK_NAMES[task], path, readme_dir)
                     for task, path in TASK_READMES.items())
    firsts = ', '.join(dict.fromkeys(row[1].split(' / ')[0]
                                     for row in body))
    text = ('Means over the seeds listed. Each method of a model-zoo table '
            'trains at the value the held-out tuning chose (in parentheses '
            'where it is not its config\'s), GML and CE included. Best: the '
            'method with the highest mean of the line\'s first metric '
            f'({firsts}) among all the methods of its table; best GML '
            'variant: the same among its GML configs (the single-stage, '
            'two-stage, class-weighted ... variants the table has). ')
    text += ' '.join(
        f'{name} is best in {len(titles)} of the {len(body)} lines: '
        f'{"; ".join(titles)}.' for name, titles in sorted(
            leaders.items(), key=lambda item: -len(item[1])))
    text += (' A difference of about one std is within the seed noise. '
             f'Every table, with std, settings and commands: {zoos}; the '
             'history: ' + _link('results', RESULTS_README, readme_dir) +
             '.')
    lines += _wrap(text, bullet='')
    return '\n'.join(lines)


# ------------------------------------------------------ results/README.md


def render_index(results: Dict[str, dict], index: dict,
                 readme_dir: str) -> str:
    """The list of every result file in ``results/README.md``: its status,
    where its table is and its note."""
    body = []
    current = {}
    for table in index['current']:
        for field in ('results', 'cost'):
            if field in table:
                current.setdefault(table[field], []).append(table['title'])
    for name, entry in index['files'].items():
        data = results[name]
        places = []
        for title in current.get(name, []):
            places.append('model zoo ' + _link(
                title, TASK_READMES[data['task']], readme_dir,
                _anchor(title)))
        if entry['render'] == 'zoo':
            places.append(_link('model zoo', TASK_READMES[data['task']],
                                readme_dir))
        elif entry['render'] == 'results':
            places.append(f'[below]({_anchor(data["title"])})')
        body.append([_link(name, f'results/{name}.json', readme_dir),
                     entry['status'], ', '.join(places) or 'not rendered',
                     ' '.join(entry['note'].split())])
    return '\n'.join(_table(['file', 'status', 'table', 'note'], body))


def render_history(name: str, data: dict, entry: dict,
                   readme_dir: str) -> str:
    """A file's full table for ``results/README.md``, its status and
    note under the heading."""
    lines = render_table(name, data, readme_dir).split('\n')
    context = _wrap(f'{entry["status"].capitalize()}. {entry["note"]}',
                    bullet='')
    return '\n'.join(lines[:2] + context + [''] + lines[2:])


def render_blocks(results: Dict[str, dict],
                  index: dict) -> Dict[str, Dict[str, str]]:
    """Every rendered block, by README (relative path) and block name."""
    blocks = {path: {} for path in TASK_READMES.values()}
    blocks[RESULTS_README] = {
        'index': render_index(results, index, osp.dirname(RESULTS_README))
    }
    for table in index['current']:
        readme = TASK_READMES[results[table['results']]['task']]
        blocks[readme][table['name']] = render_current(
            table, results, osp.dirname(readme))
    if index['current']:
        blocks[TASK_READMES['seg']][STANDING_NAME] = render_standing(
            results, index, osp.dirname(TASK_READMES['seg']))
    for name, entry in index['files'].items():
        if entry['render'] == 'nowhere':
            continue
        readme = file_readme(name, entry, results)
        render = (render_table(name, results[name], osp.dirname(readme))
                  if entry['render'] == 'zoo' else render_history(
                      name, results[name], entry, osp.dirname(readme)))
        blocks[readme][name] = render
    blocks[SUMMARY_README] = {
        SUMMARY_NAME: render_summary(results, index,
                                     osp.dirname(SUMMARY_README) or '.')
    }
    return blocks


def _sources(index: dict) -> Dict[str, str]:
    """The files a block comes from, for the check's messages."""
    sources = {SUMMARY_NAME: 'its result files', 'index': 'results/index.json',
               STANDING_NAME: 'the current tables\' result files'}
    for table in index['current']:
        sources[table['name']] = ' and '.join(
            f'results/{table[f]}.json' for f in ('results', 'cost')
            if f in table)
    return sources


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
    results_dir = results_dir or osp.join(repo, 'results')
    results = load_results(results_dir, repo)
    index = load_index(results_dir, results)
    sources = _sources(index)
    problems = []
    for readme, blocks in render_blocks(results, index).items():
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
                source = sources.get(name, f'results/{name}.json')
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
    results_dir = results_dir or osp.join(repo, 'results')
    results = load_results(results_dir, repo)
    index = load_index(results_dir, results)
    changed = []
    for readme, blocks in render_blocks(results, index).items():
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
