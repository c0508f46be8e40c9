"""Result files: their schema (``results/README.md``), reading, writing
(atomically) and provenance.

Every measured number the project reports is one of these JSON files. This
module knows their fields and checks them; :mod:`.zoo` renders them as the
model-zoo tables. Numbers are parsed as :class:`~decimal.Decimal`, so that a
value keeps the precision it was recorded with.
"""
import datetime
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Dict, List, NoReturn, Optional, Sequence

from ..errors import UserError
from .stats import decimal_exponent, decimal_mean

#: The version a file is written with; 2 added ``rank_by``, ``bootstrap``
#: and the rows' ``rank`` and ``differences``.
SCHEMA_VERSION = 2
#: The versions read (a version 1 file is a version 2 file without them).
READ_VERSIONS = (1, 2)
#: Fields a file of an older version may not have, by version added.
ADDED_IN = {'rank_by': 2, 'bootstrap': 2, 'rank': 2, 'differences': 2}
#: The model-zoo README of each task (relative to the repository).
TASK_READMES = {
    'seg': 'configs/gml_seg/README.md',
    'cls': 'configs/gml_cls/README.md',
}
#: The methods compared in the top-level summary, in column order.
SUMMARY_COLUMNS = ('CE', 'LA-CE', 'GML')
#: The name no result file may take (the top-level summary block's).
SUMMARY_NAME = 'summary'
#: The block of the segmentation model zoo that says where the best GML
#: variant stands in each current table (no result file takes the name).
STANDING_NAME = 'gml-standing'
#: ``results/<INDEX_NAME>.json`` is no result file: it says where each
#: result file renders (:func:`.zoo.load_index`).
INDEX_NAME = 'index'
KINDS = ('accuracy', 'tuning', 'cost', 'reference')
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
    'rank_by': False,
    'bootstrap': False,
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
    'rank': False,
    'differences': False,
}
#: A difference's fields (``differences``, see results/README.md).
DIFFERENCE_FIELDS = ('estimate', 'low', 'high', 'significant')
TEXT_FILE_FIELDS = ('title', 'dataset', 'split', 'source', 'model', 'crop',
                    'schedule', 'command', 'commit', 'notes', 'rule',
                    'rank_by')
TEXT_ROW_FIELDS = ('label', 'model', 'crop', 'schedule', 'settings',
                   'command', 'commit', 'source', 'notes')


class ResultFileError(UserError):
    """A result file or a README's markers break the documented rules.

    A :class:`~mil_seg.errors.UserError` (so the command prints it as one
    ``error:`` line): the fix is in the file, never in the code.
    """


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

    if 'rank' in row and not (_is_number(row['rank']) and int(
            row['rank']) == row['rank'] and row['rank'] >= 1):
        _fail(f'{where}.rank', f'expected an integer >= 1, got '
              f'{row["rank"]!r}')
    if 'differences' in row:
        _check_differences(f'{where}.differences', row['differences'],
                           [r.get('label') for r in data['rows']
                            if isinstance(r, dict)])

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


def _check_differences(where: str, differences: Any,
                       labels: List[Any]) -> None:
    """A row's ``differences``: per other row's label, the paired seeds and
    per metric the estimate, the interval and whether it is significant."""
    if not isinstance(differences, dict) or not differences:
        _fail(where, f'expected an object of row label: comparison, got '
              f'{differences!r}')
    for label, comparison in differences.items():
        at = f'{where}[{label}]'
        if label not in labels:
            _fail(at, f'no row is labelled {label!r}')
        _check_fields(at, comparison, dict(seeds=True, metrics=True),
                      'an object')
        _seed_list(f'{at}.seeds', comparison['seeds'])
        metrics = comparison['metrics']
        if not isinstance(metrics, dict) or not metrics:
            _fail(f'{at}.metrics', f'expected an object of metric: '
                  f'difference, got {metrics!r}')
        for metric, difference in metrics.items():
            _check_fields(f'{at}.metrics.{metric}', difference,
                          dict.fromkeys(DIFFERENCE_FIELDS, True), 'an object')
            for field in DIFFERENCE_FIELDS[:3]:
                value = difference[field]
                if value is not None and not _is_number(value):
                    _fail(f'{at}.metrics.{metric}.{field}', f'expected a '
                          f'number or null, got {value!r}')
            if not isinstance(difference['significant'], bool):
                _fail(f'{at}.metrics.{metric}.significant', 'expected true '
                      f'or false, got {difference["significant"]!r}')


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
        mean = decimal_mean(values)
        unit = Decimal(1).scaleb(decimal_exponent([given]))
        if abs(mean - Decimal(given)) > unit:
            _fail(f'{where}.mean.{metric}',
                  f'{given} is not the mean of the seeds, '
                  f'{mean.quantize(unit, ROUND_HALF_UP)}')


def _check_version(where: str, data: dict) -> None:
    """No field newer than the file's schema version."""
    rows = data['rows'] if isinstance(data['rows'], list) else []
    for field, version in ADDED_IN.items():
        found = field in data or any(
            isinstance(row, dict) and field in row for row in rows)
        if found and data['schema'] < version:
            _fail(f'{where}: {field}', f'is a field of schema {version}; '
                  f'the file says schema {data["schema"]}: set "schema": '
                  f'{SCHEMA_VERSION}')


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
    # The version first: a file of another version breaks the other rules
    # too, and its fix is to convert or rerun it, not to edit one field.
    if isinstance(data, dict) and 'schema' in data and (
            data['schema'] not in READ_VERSIONS
            or isinstance(data['schema'], bool)):
        _fail(f'{where}: schema', f'expected '
              f'{" or ".join(map(str, READ_VERSIONS))}, got '
              f'{data["schema"]!r}: the file is of another schema version; '
              f'convert it to schema {SCHEMA_VERSION} (results/README.md) '
              'or rerun the benchmark that wrote it')
    _check_fields(where, data, FILE_FIELDS, 'a JSON object')
    _check_version(where, data)
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
    if 'bootstrap' in data:
        _check_fields(f'{where}: bootstrap', data['bootstrap'], dict(
            method=True, samples=True, confidence=True, seed=True,
            images=False, notes=False), 'an object')
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
    """Load and validate every ``*.json`` of a results folder (but the
    index, ``index.json``).

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
    names = [f for f in os.listdir(results_dir)
             if f.endswith('.json') and f != f'{INDEX_NAME}.json']
    for file_name in sorted(names, key=lambda f: f[:-len('.json')]):
        path = osp.join(results_dir, file_name)
        where = osp.relpath(path, repo) if repo else path
        name = file_name[:-len('.json')]
        if not re.fullmatch(r'[A-Za-z0-9_.-]+', name) or name in (
                SUMMARY_NAME, STANDING_NAME):
            _fail(where, 'a result file is named [A-Za-z0-9_.-]+.json, and '
                  f'not {SUMMARY_NAME}.json or {STANDING_NAME}.json (the '
                  'names of rendered blocks)')
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


def source_root() -> Optional[str]:
    """The source checkout the imported package lives in, if any.

    Returns:
        str, optional: The repository root (it holds ``setup.py`` beside
        ``mil_seg/``); None for an installed wheel.
    """
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    root = osp.dirname(root)
    return root if osp.isfile(osp.join(root, 'setup.py')) else None


def git_commit(repo: Optional[str] = None) -> str:
    """Short commit of a repository, ``+changes`` when tracked files differ.

    Args:
        repo (str, optional): The repository. Defaults to None: the
            package's source checkout (:func:`source_root`).

    Returns:
        str: E.g. ``9ca3f54`` or ``9ca3f54+changes``; for an installed
        package outside a checkout, its version (``mil_seg 0.3.0``).
    """
    repo = repo or source_root()

    def git(*arguments):
        return subprocess.run(['git', *arguments], cwd=repo,
                              capture_output=True, text=True,
                              check=True).stdout.strip()

    try:
        if repo is None:
            raise OSError('not a checkout')
        commit = git('rev-parse', '--short', 'HEAD')
        dirty = git('status', '--porcelain', '--untracked-files=no')
    except (OSError, subprocess.CalledProcessError):
        from ..version import __version__
        return f'mil_seg {__version__}'
    return commit + ('+changes' if dirty else '')


def provenance(command: Sequence[str],
               repo: Optional[str] = None) -> Dict[str, str]:
    """The ``command``, ``commit`` and ``date`` fields of a result file
    written now.

    Args:
        command (Sequence[str]): The command line, program first, e.g.
            ``['mil_seg-bench', '--iters', '800']``.
        repo (str, optional): The repository of the commit. Defaults to
            None (see :func:`git_commit`).

    Returns:
        dict[str, str]: The three fields.
    """
    return dict(
        command=' '.join(shlex.quote(a) for a in command),
        commit=git_commit(repo),
        date=datetime.date.today().isoformat())


def script_command(argv: Sequence[str],
                   start: Optional[str] = None) -> List[str]:
    """A script's ``sys.argv`` as the command :func:`provenance` records.

    Args:
        argv (Sequence[str]): ``sys.argv`` of the script.
        start (str, optional): The folder the script's path is made
            relative to (its repository). Defaults to None (the working
            directory).

    Returns:
        list[str]: ``['python', <script>, *args]``.
    """
    script = osp.relpath(osp.abspath(argv[0]), start).replace(os.sep, '/')
    return ['python', script, *argv[1:]]


def atomic_write(path: str, text: str) -> None:
    """Write a text file whole or not at all.

    The text goes to a temporary file in the same folder (so the rename
    stays on one file system), is flushed to disk, and replaces ``path`` by
    :func:`os.replace`; a failure at any point leaves the old file as it
    was and removes the temporary one. A reader never sees half a file,
    even after the writer is killed.

    Args:
        path (str): The file.
        text (str): Its new content.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise


def write_json(path: str, data: Any) -> None:
    """A plain JSON file (a run's state or result), written atomically."""
    atomic_write(path, json.dumps(data, indent=1) + '\n')


def write_result(data: dict, path: str, repo: Optional[str] = None) -> None:
    """Validate a result file (as :func:`load_results` will) and write it
    atomically (:func:`atomic_write`).

    Args:
        data (dict): The result file; numbers as int, float or Decimal.
        path (str): Where to write it.
        repo (str, optional): The folder every row's ``config`` is
            relative to, checked to exist. Defaults to None (not checked).

    Raises:
        ResultFileError: When the file would break the schema (nothing is
            written then).
    """
    text = dumps(data)
    validate(parse(text), path, repo)
    atomic_write(path, text)
