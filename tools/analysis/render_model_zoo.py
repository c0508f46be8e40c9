"""Render the model-zoo tables of the READMEs from the result files.

Every measured number the project reports is a JSON file under
``results/`` (schema: ``results/README.md``). This script writes each file
as a markdown table between two marker comments::

    <!-- model-zoo:NAME start -->
    ...
    <!-- model-zoo:NAME end -->

where NAME is the file's stem (``results/NAME.json``) and the README is the
one of the file's task (``configs/gml_seg/README.md`` for ``"task": "seg"``,
``configs/gml_cls/README.md`` for ``"cls"``). The block ``summary`` of the
top-level ``README.md`` is one short table of the rows that carry a
``"summary"`` column name. Nothing outside the markers is touched; a result
file without markers gets them appended at the end of its README.

Usage::

    python tools/analysis/render_model_zoo.py          # rewrite the READMEs
    python tools/analysis/render_model_zoo.py --check  # exit 1 when stale

The module uses the standard library only, so tests and tools can load it
by path without importing torch or the OpenMMLab stack.
"""
import argparse
import datetime
import difflib
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
import textwrap
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, NoReturn, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCHEMA_VERSION = 1
TASK_READMES = {
    'seg': 'configs/gml_seg/README.md',
    'cls': 'configs/gml_cls/README.md',
}
TASK_NAMES = {'seg': 'segmentation', 'cls': 'classification'}
SUMMARY_README = 'README.md'
SUMMARY_NAME = 'summary'
# The methods compared in the top-level summary, in column order.
SUMMARY_COLUMNS = ('CE', 'LA-CE', 'GML')
KINDS = ('accuracy', 'tuning', 'cost', 'reference')
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

FILE_FIELDS = {
    # name: required
    'schema': True,
    'title': True,
    'task': True,
    'kind': True,
    'dataset': True,
    'split': False,
    'metrics': True,
    'source': True,
    'rows': True,
    'model': False,
    'crop': False,
    'schedule': False,
    'machine': False,
    'command': False,
    'commit': False,
    'date': False,
    'notes': False,
    'rule': False,
    'headers': False,
    'summary_metrics': False,
}
ROW_FIELDS = {
    'label': True,
    'config': True,
    'seeds': False,
    'mean': False,
    'seeds_used': False,
    'value': False,
    'model': False,
    'crop': False,
    'schedule': False,
    'settings': False,
    'chosen': False,
    'summary': False,
    'command': False,
    'commit': False,
    'source': False,
    'notes': False,
}
TEXT_FILE_FIELDS = ('title', 'dataset', 'split', 'source', 'model', 'crop',
                    'schedule', 'command', 'commit', 'notes', 'rule')
TEXT_ROW_FIELDS = ('label', 'model', 'crop', 'schedule', 'settings',
                   'command', 'commit', 'source', 'notes')


class ResultFileError(ValueError):
    """A result file or a README's markers break the documented rules."""


# --------------------------------------------------------------- loading


def _is_number(value: Any) -> bool:
    """Whether a parsed JSON value is a number (bools are not)."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _fail(where: str, problem: str) -> NoReturn:
    """Raise the error of one field: ``<file>: <field>: <problem>``."""
    raise ResultFileError(f'{where}: {problem}')


def _check_text(where: str, value: Any, nullable: bool = False) -> None:
    """A non-empty string (or None when ``nullable``)."""
    if value is None and nullable:
        return
    if not isinstance(value, str) or not value.strip():
        _fail(where, f'expected a non-empty string, got {value!r}')


def _check_metric_dict(where: str, values: Any) -> None:
    """A non-empty object of metric: number or null."""
    if not isinstance(values, dict) or not values:
        _fail(where, f'expected an object of metric: number, got {values!r}')
    for key, value in values.items():
        if value is not None and not _is_number(value):
            _fail(f'{where}.{key}',
                  f'expected a number (or null for an undefined value, e.g. '
                  f'an empty class group), got {value!r}')


def _seed_list(where: str, value: Any) -> List[int]:
    """The seeds of ``seeds_used``: distinct integers >= 0."""
    if (not isinstance(value, list) or not value
            or not all(_is_number(s) and int(s) == s and s >= 0
                       for s in value)
            or len(set(value)) != len(value)):
        _fail(where, f'expected a list of distinct seeds (integers >= 0), '
              f'got {value!r}')
    return [int(s) for s in value]


def _check_fields(where: str, obj: Any, fields: Dict[str, bool],
                  expected: str) -> None:
    """An object with only known fields and all required ones.

    Args:
        where (str): Where the object is, for the error.
        obj (Any): The parsed JSON value.
        fields (dict[str, bool]): Allowed field -> whether it is required.
        expected (str): What the object should be, e.g. 'an object'.
    """
    if not isinstance(obj, dict):
        # a misplaced row is best shown whole; a whole file only by type
        got = repr(obj) if expected == 'an object' else type(obj).__name__
        _fail(where, f'expected {expected}, got {got}')
    unknown = sorted(set(obj) - set(fields))
    if unknown:
        _fail(where, f'unknown field(s) {", ".join(unknown)} (allowed: '
              f'{", ".join(fields)})')
    for field, required in fields.items():
        if required and field not in obj:
            _fail(where, f'missing field "{field}"')


def _check_row(where: str, row: Any, data: dict, repo: Optional[str]) -> None:
    """One row of a file (see :func:`validate`)."""
    _check_fields(where, row, ROW_FIELDS, 'an object')
    where = f'{where} ({row["label"]})' if isinstance(
        row['label'], str) else where
    for field in TEXT_ROW_FIELDS:
        if field in row:
            _check_text(f'{where}.{field}', row[field])
    needed = ('model', 'schedule') if data.get('kind') in (
        'accuracy', 'tuning') else ('model', )
    for field in needed:
        if field not in row and field not in data:
            _fail(where, f'no "{field}": give it in the file or the row')
    config = row['config']
    _check_text(f'{where}.config', config, nullable=True)
    if config is not None:
        if osp.isabs(config) or '\\' in config:
            _fail(f'{where}.config',
                  f'expected a path relative to the repository, got '
                  f'{config!r}')
        if repo is not None and not osp.isfile(osp.join(repo, config)):
            _fail(f'{where}.config', f'{config} does not exist')
    if 'chosen' in row and not isinstance(row['chosen'], bool):
        _fail(f'{where}.chosen', f'expected true or false, got '
              f'{row["chosen"]!r}')
    if 'summary' in row and row['summary'] not in SUMMARY_COLUMNS:
        _fail(f'{where}.summary', f'expected one of '
              f'{", ".join(SUMMARY_COLUMNS)}, got {row["summary"]!r}')

    forms = [f for f in ('seeds', 'mean', 'value') if f in row]
    if not forms:
        _fail(where, 'no numbers: give "seeds" (per seed), "mean" (with '
              '"seeds_used") or "value" (one run of unknown seed)')
    if 'value' in row and len(forms) > 1:
        _fail(where, '"value" excludes "seeds" and "mean"')
    if ('mean' in row) != ('seeds_used' in row):
        _fail(where, '"mean" and "seeds_used" go together')
    if 'seeds' in row:
        seeds = row['seeds']
        if not isinstance(seeds, dict) or not seeds:
            _fail(f'{where}.seeds', f'expected an object of seed: metrics, '
                  f'got {seeds!r}')
        for seed, values in seeds.items():
            if not seed.isdigit():
                _fail(f'{where}.seeds', f'seed {seed!r} is not an integer '
                      '>= 0')
            _check_metric_dict(f'{where}.seeds[{seed}]', values)
    for form in ('mean', 'value'):
        if form in row:
            _check_metric_dict(f'{where}.{form}', row[form])
    if 'mean' in row:
        used = _seed_list(f'{where}.seeds_used', row['seeds_used'])
        if 'seeds' in row:
            _check_mean_matches_seeds(where, row, used)


def _check_mean_matches_seeds(where: str, row: dict, used: List[int]) -> None:
    """A reported mean over exactly the stored seeds must be their mean."""
    seeds = row['seeds']
    extra = sorted(int(s) for s in seeds if int(s) not in used)
    if extra:
        _fail(f'{where}.seeds', f'seed(s) {extra} are not in seeds_used')
    if sorted(int(s) for s in seeds) != sorted(used):
        return
    for metric, given in row['mean'].items():
        values = [v.get(metric) for v in seeds.values()]
        if given is None or not all(_is_number(v) for v in values):
            continue
        mean = _mean(values)
        unit = Decimal(1).scaleb(_exponent([given]))
        if abs(mean - Decimal(given)) > unit:
            _fail(f'{where}.mean.{metric}',
                  f'{given} is not the mean of the seeds, '
                  f'{mean.quantize(unit, ROUND_HALF_UP)}')


def validate(data: Any, where: str, repo: Optional[str] = None) -> None:
    """Check a parsed result file against the schema of results/README.md.

    Args:
        data (Any): The file parsed by :func:`parse`.
        where (str): How errors name the file, e.g. ``results/x.json``.
        repo (str, optional): Repository root; when given, every row's
            ``config`` must exist in it. Defaults to None (not checked).

    Raises:
        ResultFileError: Naming the file, the field and the problem.
    """
    _check_fields(where, data, FILE_FIELDS, 'a JSON object')
    if data['schema'] != SCHEMA_VERSION:
        _fail(f'{where}: schema', f'expected {SCHEMA_VERSION}, got '
              f'{data["schema"]!r}')
    for field in TEXT_FILE_FIELDS:
        if field in data:
            _check_text(f'{where}: {field}', data[field])
    if 'machine' in data:
        _check_text(f'{where}: machine', data['machine'], nullable=True)
    if data['task'] not in TASK_READMES:
        _fail(f'{where}: task', f'expected one of {", ".join(TASK_READMES)}'
              f', got {data["task"]!r}')
    if data['kind'] not in KINDS:
        _fail(f'{where}: kind', f'expected one of {", ".join(KINDS)}, got '
              f'{data["kind"]!r}')
    if data['kind'] in ('accuracy', 'tuning') and 'split' not in data:
        _fail(where, f'a {data["kind"]} file needs "split" (evaluated on)')
    if data['kind'] == 'tuning' and 'rule' not in data:
        _fail(where, 'a tuning file needs "rule" (how the value was chosen)')
    if 'date' in data and not re.fullmatch(r'\d{4}-\d{2}-\d{2}',
                                           data['date']):
        _fail(f'{where}: date', f'expected YYYY-MM-DD, got {data["date"]!r}')
    metrics = data['metrics']
    if (not isinstance(metrics, list) or not metrics
            or not all(isinstance(m, str) and m for m in metrics)
            or len(set(metrics)) != len(metrics)):
        _fail(f'{where}: metrics', f'expected a list of distinct metric '
              f'names, got {metrics!r}')
    summary = data.get('summary_metrics')
    if summary is not None and (not isinstance(summary, list) or not summary
                                or not set(summary) <= set(metrics)):
        _fail(f'{where}: summary_metrics', f'expected a list of names from '
              f'"metrics", got {summary!r}')
    headers = data.get('headers', {})
    if not isinstance(headers, dict) or not all(
            isinstance(v, str) for v in headers.values()):
        _fail(f'{where}: headers', f'expected an object of metric: header, '
              f'got {headers!r}')
    rows = data['rows']
    if not isinstance(rows, list) or not rows:
        _fail(f'{where}: rows', 'expected a non-empty list')
    for i, row in enumerate(rows):
        _check_row(f'{where}: rows[{i}]', row, data, repo)
    if data['kind'] == 'tuning' and not any(
            row.get('chosen') for row in rows):
        _fail(f'{where}: rows', 'a tuning file marks the chosen row(s) with '
              '"chosen": true')
    columns = [row['summary'] for row in rows if 'summary' in row]
    if len(set(columns)) != len(columns):
        _fail(f'{where}: rows', f'one row per summary column, got {columns}')
    if columns and summary is None:
        _fail(where, 'rows name summary columns but "summary_metrics" is '
              'missing')


def parse(text: str) -> Any:
    """Parse a result file, keeping every number exactly as written.

    Numbers become :class:`~decimal.Decimal` (or int), so ``30.20`` keeps
    its two decimals: the renderer prints values, and means, at the
    precision the numbers were recorded with. A key repeated in one object
    (e.g. a seed written twice) is refused instead of silently dropped.

    Args:
        text (str): The file's text.

    Returns:
        Any: The parsed value.

    Raises:
        json.JSONDecodeError: For text that is not JSON.
        ResultFileError: For a repeated key.
    """

    def unique(pairs):
        keys = [key for key, _ in pairs]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ResultFileError(f'key(s) {", ".join(repeated)} repeated in '
                                  'one object')
        return dict(pairs)

    return json.loads(text, parse_float=Decimal, object_pairs_hook=unique)


def load_results(results_dir: str,
                 repo: Optional[str] = None) -> Dict[str, dict]:
    """Load and validate every ``*.json`` of a results folder.

    Args:
        results_dir (str): The folder.
        repo (str, optional): Repository root for the config check of
            :func:`validate`. Defaults to None.

    Returns:
        Dict[str, dict]: Parsed files by name (the file stem), sorted.

    Raises:
        ResultFileError: For a file that is not JSON or breaks the schema.
    """
    results = {}
    names = [f for f in os.listdir(results_dir) if f.endswith('.json')]
    for file_name in sorted(names, key=lambda f: f[:-len('.json')]):
        path = osp.join(results_dir, file_name)
        where = osp.relpath(path, repo) if repo else path
        name = file_name[:-len('.json')]
        if not re.fullmatch(r'[A-Za-z0-9_.-]+', name) or name == SUMMARY_NAME:
            _fail(where, 'a result file is named [A-Za-z0-9_.-]+.json, and '
                  f'not {SUMMARY_NAME}.json')
        results[name] = load_result(path, where, repo)
    return results


def load_result(path: str, where: Optional[str] = None,
                repo: Optional[str] = None) -> dict:
    """Load and validate one result file.

    Args:
        path (str): The file.
        where (str, optional): How errors name it. Defaults to ``path``.
        repo (str, optional): Repository root for the config check of
            :func:`validate`. Defaults to None.

    Returns:
        dict: The file parsed by :func:`parse`.

    Raises:
        ResultFileError: For a file that is not JSON or breaks the schema.
    """
    where = where or path
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        data = parse(text)
    except json.JSONDecodeError as error:
        _fail(where, f'not valid JSON: {error}')
    except ResultFileError as error:
        _fail(where, str(error))
    validate(data, where, repo)
    return data


def dumps(data: dict) -> str:
    """Serialise a result file; a :class:`~decimal.Decimal` keeps its digits.

    ``json`` writes ``30.20`` as ``30.2``; writers that know the precision
    of a number pass it as ``Decimal('30.20')`` and it is written so.

    Args:
        data (dict): The result file.

    Returns:
        str: Its JSON text, indented, with a final newline.
    """
    placeholder = '\0decimal:'

    def encode(value):
        if isinstance(value, Decimal):
            return placeholder + format(value, 'f')
        raise TypeError(f'{type(value).__name__} is not JSON serialisable')

    text = json.dumps(data, indent=2, ensure_ascii=False, default=encode)
    return re.sub('"' + re.escape(json.dumps(placeholder)[1:-1]) +
                  r'(-?[0-9.]+)"', r'\1', text) + '\n'


def recorded(value: Optional[float], digits: int) -> Optional[Decimal]:
    """A measured number at the precision a benchmark prints it with.

    Args:
        value (float, optional): The measured value.
        digits (int): Decimals kept.

    Returns:
        Decimal, optional: The value; None when it is undefined (None or
        NaN, e.g. the accuracy of an empty class group).
    """
    if value is None or value != value:
        return None
    return Decimal(f'{value:.{digits}f}')


def git_commit(repo: str = REPO) -> str:
    """Short commit of a repository, ``+changes`` when tracked files differ.

    Args:
        repo (str): The repository. Defaults to this script's repository.

    Returns:
        str: E.g. ``9ca3f54`` or ``9ca3f54+changes``; ``unknown`` without
        git.
    """
    def git(*arguments):
        return subprocess.run(['git', *arguments], cwd=repo,
                              capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        commit = git('rev-parse', '--short', 'HEAD')
        dirty = git('status', '--porcelain', '--untracked-files=no')
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return commit + ('+changes' if dirty else '')


def provenance(argv: Sequence[str], repo: str = REPO) -> Dict[str, str]:
    """The ``command``, ``commit`` and ``date`` fields of a result file that
    a benchmark script writes now.

    Args:
        argv (Sequence[str]): ``sys.argv`` of the script.
        repo (str): The repository. Defaults to this script's repository.

    Returns:
        dict[str, str]: The three fields.
    """
    return dict(
        command=command_line(argv, repo),
        commit=git_commit(repo),
        date=datetime.date.today().isoformat())


def command_line(argv: Sequence[str], repo: str = REPO) -> str:
    """A script's command line as a result file records it.

    Args:
        argv (Sequence[str]): ``sys.argv`` of the script.
        repo (str): The repository the script path is made relative to.
            Defaults to this script's repository.

    Returns:
        str: E.g. ``python tools/benchmarks/camvid.py --iters 800``.
    """
    script = osp.relpath(osp.abspath(argv[0]), repo).replace(os.sep, '/')
    return ' '.join(shlex.quote(a) for a in ['python', script, *argv[1:]])


def write_result(data: dict, path: str, repo: str = REPO) -> None:
    """Validate a result file (as :func:`load_results` will) and write it.

    Args:
        data (dict): The result file; numbers as int, float or Decimal.
        path (str): Where to write it.
        repo (str): Repository root for the config check. Defaults to this
            script's repository.

    Raises:
        ResultFileError: When the file would break the schema.
    """
    text = dumps(data)
    validate(parse(text), path, repo)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


# ------------------------------------------------------------ statistics


def _exponent(values: Sequence[Any]) -> int:
    """Smallest decimal exponent among numbers (most digits after '.')."""
    return min(Decimal(v).as_tuple().exponent for v in values)


def _mean(values: Sequence[Any]) -> Decimal:
    values = [Decimal(v) for v in values]
    return sum(values) / len(values)


def _quantize(value: Decimal, exponent: int) -> str:
    return format(value.quantize(Decimal(1).scaleb(exponent), ROUND_HALF_UP),
                  'f')


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
    exponent = _exponent(values)
    cell = _quantize(_mean(values), exponent)
    if with_std and len(values) > 1:
        mean = _mean(values)
        variance = sum((Decimal(v) - mean)**2
                       for v in values) / (len(values) - 1)
        cell += ' ± ' + _quantize(variance.sqrt(), exponent)
    return cell


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


def _link(text: str, target: str, readme_dir: str, repo: str) -> str:
    path = osp.relpath(osp.join(repo, target), osp.join(repo, readme_dir))
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


def render_table(name: str, data: dict, readme_dir: str,
                 repo: str = REPO) -> str:
    """The markdown block of one result file (between its markers).

    A heading, one table in MMSegmentation's model-zoo form (method, model,
    crop, schedule, settings, seeds, the metrics, config and result-file
    links; columns that no row fills are left out) and bullets with the
    data, machine, command, provenance and notes.

    Args:
        name (str): The file's stem.
        data (dict): The validated file.
        readme_dir (str): Folder of the README, relative to ``repo``
            (links are relative to it).
        repo (str): Repository root. Defaults to this script's repository.

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
            _link('config', row['config'], readme_dir, repo)
            if row['config'] else '-')
        links.append(_link('json', result_file, readme_dir, repo))
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


def render_summary(results: Dict[str, dict], readme_dir: str = '.',
                   repo: str = REPO) -> str:
    """The short table of the top-level README.

    One line per result file with ``summary_metrics``: its title, the
    metrics, and for each of :data:`SUMMARY_COLUMNS` the mean of the row
    that names that column.

    Args:
        results (Dict[str, dict]): Validated files by name.
        readme_dir (str): Folder of the README, relative to ``repo``.
            Defaults to '.'.
        repo (str): Repository root. Defaults to this script's repository.

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
        details = (_link('model zoo', zoo, readme_dir, repo) + ', ' +
                   _link('json', f'results/{name}.json', readme_dir, repo))
        title = data['title'] + (f' ({data["split"]})' if 'split' in data
                                 else '')
        body.append([title, ' / '.join(header(m, headers) for m in metrics),
                     *cells,
                     '; '.join(seeds), details])
    lines = _table(names, body)
    lines.append('')
    zoos = ', '.join(_link(TASK_NAMES[task], path, readme_dir, repo)
                     for task, path in TASK_READMES.items())
    lines += _wrap(
        'Means over the seeds listed; the GML column is the committed GML '
        f'config. Every table, with std, settings and commands: {zoos}.',
        bullet='')
    return '\n'.join(lines)


def render_blocks(results: Dict[str, dict],
                  repo: str = REPO) -> Dict[str, Dict[str, str]]:
    """Every rendered block, by README (relative path) and block name."""
    blocks = {path: {} for path in TASK_READMES.values()}
    for name, data in results.items():
        readme = TASK_READMES[data['task']]
        blocks[readme][name] = render_table(name, data, osp.dirname(readme),
                                            repo)
    blocks[SUMMARY_README] = {
        SUMMARY_NAME: render_summary(results, osp.dirname(SUMMARY_README)
                                     or '.', repo)
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


def check(repo: str = REPO, results_dir: Optional[str] = None) -> List[str]:
    """Compare the READMEs with what the result files render.

    Args:
        repo (str): Repository root. Defaults to this script's repository.
        results_dir (str, optional): Folder of the result files. Defaults
            to ``<repo>/results``.

    Returns:
        List[str]: One message per README table that differs from its
        file (with a unified diff) or is missing; empty when up to date.

    Raises:
        ResultFileError: For a malformed result file or broken markers.
    """
    results = load_results(results_dir or osp.join(repo, 'results'), repo)
    problems = []
    for readme, blocks in render_blocks(results, repo).items():
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


def write(repo: str = REPO, results_dir: Optional[str] = None) -> List[str]:
    """Rewrite the READMEs' tables from the result files.

    Args:
        repo (str): Repository root. Defaults to this script's repository.
        results_dir (str, optional): Folder of the result files. Defaults
            to ``<repo>/results``.

    Returns:
        List[str]: The READMEs that changed.
    """
    results = load_results(results_dir or osp.join(repo, 'results'), repo)
    changed = []
    for readme, blocks in render_blocks(results, repo).items():
        path = osp.join(repo, readme)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        new_text, _ = update_readme(text, blocks, readme)
        if new_text != text:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(new_text)
            changed.append(readme)
    return changed


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--check',
        action='store_true',
        help='write nothing; exit 1 and print the differing tables when a '
        'README is out of date')
    parser.add_argument(
        '--repo', default=REPO, help='repository root (default: this one)')
    parser.add_argument(
        '--results', default=None, help='result files (default: REPO/results)')
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(args.repo, args.results)
            for problem in problems:
                print(problem)
            if problems:
                print(f'{len(problems)} table(s) out of date: run python '
                      'tools/analysis/render_model_zoo.py')
                return 1
            print('model-zoo tables are up to date')
            return 0
        for readme in write(args.repo, args.results):
            print(f'updated {readme}')
        return 0
    except (ResultFileError, OSError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
