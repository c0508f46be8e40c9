"""mil_seg.benchmark.zoo: the model-zoo tables of the READMEs are rendered
from results/*.json, where results/index.json says (``mil_seg-bench
render``)."""
import json
import os
import os.path as osp
import shutil
import sys
from decimal import Decimal

import pytest

from mil_seg.benchmark import results as result_files
from mil_seg.benchmark import zoo

from ..tool_runner import run_command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RENDER = [sys.executable, '-m', 'mil_seg.benchmark', 'render']


def copy_repo(tmp_path) -> str:
    """The READMEs, results and configs of the repository, in tmp_path."""
    root = tmp_path / 'repo'
    shutil.copytree(osp.join(REPO, 'results'), root / 'results')
    shutil.copytree(osp.join(REPO, 'configs'), root / 'configs')
    shutil.copy(osp.join(REPO, 'README.md'), root / 'README.md')
    return str(root)


def minimal_result(**changes) -> dict:
    """A small valid result file, with top-level fields changed."""
    data = {
        'schema': 1,
        'title': 'Tiny',
        'task': 'seg',
        'kind': 'accuracy',
        'dataset': 'generated',
        'split': 'val',
        'model': 'tiny FCN',
        'schedule': '2 iterations',
        'metrics': ['mIoU', 'mIoU_tail'],
        'source': 'this test',
        'rows': [{
            'label': 'GML',
            'config': None,
            'seeds': {
                '0': {'mIoU': 1.25, 'mIoU_tail': 0.50},
                '1': {'mIoU': 2.00, 'mIoU_tail': 1.00},
            }
        }],
    }
    data.update(changes)
    return data


def test_committed_readmes_equal_their_result_files():
    problems = zoo.check(REPO)
    assert not problems, '\n\n'.join(problems) + (
        '\n\nrun: mil_seg-bench render')


def _read(path):
    with open(osp.join(REPO, path), encoding='utf-8') as f:
        return f.read()


def test_every_result_file_renders_somewhere_or_is_marked_nowhere():
    results = result_files.load_results(osp.join(REPO, 'results'), REPO)
    index = zoo.load_index(osp.join(REPO, 'results'), results)
    assert results and set(index['files']) == set(results)
    readmes = {path: _read(path) for path in [
        *result_files.TASK_READMES.values(), zoo.RESULTS_README]}
    current = {table[field] for table in index['current']
               for field in ('results', 'cost') if field in table}
    for name, entry in index['files'].items():
        marker = f'<!-- model-zoo:{name} start -->'
        holders = [path for path, text in readmes.items() if marker in text]
        expected = {
            'zoo': [result_files.TASK_READMES[results[name]['task']]],
            'results': [zoo.RESULTS_README],
            'nowhere': [],
        }[entry['render']]
        assert holders == expected, (name, holders)
        # rendered nowhere, it is still listed (with its note) in the index
        assert f'[{name}]({name}.json)' in readmes[zoo.RESULTS_README]
        assert entry['status'] == 'current' or name not in current
    seg = readmes[result_files.TASK_READMES['seg']]
    for table in index['current']:
        assert f'<!-- model-zoo:{table["name"]} start -->' in seg
    summary = _read('README.md')
    summary = summary[summary.index('<!-- model-zoo:summary start -->'):]
    assert '| best (by the first metric) | best GML variant | CE |' in (
        summary)
    assert '| CamVid, tiny FCN, 3200 iterations (val) | mIoU / tail | ' in (
        summary)


def test_the_segmentation_model_zoo_is_at_most_300_lines():
    lines = _read(result_files.TASK_READMES['seg']).splitlines()
    assert len(lines) <= 300, len(lines)


def test_a_changed_number_fails_the_check(tmp_path):
    root = copy_repo(tmp_path)
    with open(osp.join(root, 'results', 'index.json'), encoding='utf-8') as f:
        table = json.load(f)['current'][0]
    name = table['results']
    path = osp.join(root, 'results', name + '.json')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    ce_row = next(row for row in data['rows']
                  if row['label'] == table['summary']['CE']
                  and 'settings' not in row)
    seeds = ce_row['seeds']
    seeds['0']['mIoU'] = round(seeds['0']['mIoU'] + 1.5, 2)
    if 'mean' in ce_row:  # a stored mean must stay the seeds' mean
        ce_row['mean']['mIoU'] = round(
            sum(seed['mIoU'] for seed in seeds.values()) / len(seeds), 2)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)
    # CE's mean moves: its compact table, its full table and the summary
    problems = zoo.check(root)
    assert len(problems) == 3, problems
    assert any(f'configs/gml_seg/README.md: table {table["name"]} '
               f'differs from results/{name}.json' in p for p in problems)
    assert any(f'results/README.md: table {name} differs' in p
               for p in problems)
    assert any('README.md: table summary differs' in p for p in problems)

    result = run_command([*RENDER, '--check', '--repo', root], timeout=120)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f'-| {ce_row["label"]} | ') for line in lines)
    assert any(line.startswith(f'+| {ce_row["label"]} | ') for line in lines)

    result = run_command([*RENDER, '--repo', root], timeout=120)
    assert result.returncode == 0, result.stderr
    assert zoo.check(root) == []


def test_the_reported_mean_must_match_its_seeds(tmp_path):
    root = copy_repo(tmp_path)
    path = osp.join(root, 'results', 'camvid-fcn-800.json')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    with open(path, 'w', encoding='utf-8') as f:
        # a typo in one seed of CE (39.81 -> 38.81) disagrees with its mean
        f.write(text.replace('"mIoU": 39.81', '"mIoU": 38.81'))
    with pytest.raises(result_files.ResultFileError,
                       match=r'camvid-fcn-800\.json: rows\[0\] \(CE\)\.mean'
                       r'\.mIoU: 39\.86 is not the mean of the seeds, 39\.66'):
        zoo.check(root)


@pytest.mark.parametrize('change, message', [
    (dict(rows=[]), r"rows: expected a non-empty list"),
    (dict(kind='speed'), r"kind: expected one of accuracy, tuning, cost, "
     r"reference, got 'speed'"),
    (dict(metrics='mIoU'), r"metrics: expected a list of distinct metric "
     r"names"),
    (dict(split=None), r"split: expected a non-empty string"),
    (dict(colour='red'), r"unknown field\(s\) colour"),
])
def test_malformed_files_are_refused_naming_the_field(tmp_path, change,
                                                      message):
    data = minimal_result(**change)
    results = tmp_path / 'results'
    results.mkdir()
    (results / 'tiny.json').write_text(json.dumps(data))
    with pytest.raises(result_files.ResultFileError, match=r'tiny\.json: ' + message):
        result_files.load_results(str(results))


def test_a_seed_written_twice_is_refused(tmp_path):
    text = json.dumps(minimal_result()).replace(
        '"1": {"mIoU": 2.0', '"0": {"mIoU": 2.0')
    (tmp_path / 'tiny.json').write_text(text)
    with pytest.raises(result_files.ResultFileError,
                       match=r'tiny\.json: key\(s\) 0 repeated in one object'):
        result_files.load_results(str(tmp_path))


@pytest.mark.parametrize('row_change, message', [
    (dict(seeds={'0': {'mIoU': '47.1'}}),
     r"rows\[0\] \(GML\)\.seeds\[0\]\.mIoU: expected a number \(or null"),
    (dict(seeds={'zero': {'mIoU': 1.0}}), r"seed 'zero' is not an integer"),
    (dict(seeds=None, mean={'mIoU': 1.0}),
     r'"mean" and "seeds_used" go together'),
    (dict(seeds=None), r'no numbers: give "seeds"'),
    (dict(config='configs/missing.py'),
     r'config: configs/missing\.py does not exist'),
])
def test_malformed_rows_are_refused_naming_the_field(tmp_path, row_change,
                                                     message):
    data = minimal_result()
    row = dict(data['rows'][0], **row_change)
    data['rows'][0] = {k: v for k, v in row.items()
                       if v is not None or k == 'config'}
    (tmp_path / 'tiny.json').write_text(json.dumps(data))
    with pytest.raises(result_files.ResultFileError, match=message):
        result_files.load_results(str(tmp_path), repo=str(tmp_path))


def test_the_cli_prints_one_error_line_for_a_malformed_file(tmp_path):
    root = copy_repo(tmp_path)
    with open(osp.join(root, 'results', 'broken.json'), 'w') as f:
        f.write('{"schema": 1,')
    result = run_command([*RENDER, '--check', '--repo', root], timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith(
        'error: results/broken.json: not valid JSON')
    assert 'Traceback' not in result.stderr


def test_cells_keep_the_recorded_precision():
    text = json.dumps(minimal_result())
    assert text.count('"mIoU_tail": 0.5}') == 1
    data = result_files.parse(text.replace('"mIoU_tail": 0.5}', '"mIoU_tail": 0.50}'))
    result_files.validate(data, 'tiny.json')
    row = data['rows'][0]
    # mean 1.625 rounds half up; std of (1.25, 2.00) is 0.53033
    assert zoo.metric_cell(row, 'mIoU') == '1.63 ± 0.53'
    assert zoo.metric_cell(row, 'mIoU', with_std=False) == '1.63'
    assert zoo.metric_cell(row, 'mIoU_tail') == '0.75 ± 0.35'
    assert zoo.metric_cell(row, 'mIoU_head') == '-'
    assert zoo.seeds_cell(row) == '0, 1'
    reported = {'mean': {'top1': result_files.parse('30.20'), 'few': None},
                'seeds_used': [0, 1, 2]}
    assert zoo.metric_cell(reported, 'top1') == '30.20'
    assert zoo.metric_cell(reported, 'few') == 'n/a'
    assert zoo.seeds_cell(reported) == '0-2'


def _edit_index(root, change):
    path = osp.join(root, 'results', 'index.json')
    with open(path, encoding='utf-8') as f:
        index = json.load(f)
    change(index)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(index, f, indent=2)


def test_a_new_result_file_must_be_listed_then_is_appended(tmp_path):
    root = copy_repo(tmp_path)
    data = minimal_result(title='A new table')
    with open(osp.join(root, 'results', 'new-table.json'), 'w') as f:
        json.dump(data, f)
    # not silently left out: render refuses until the index says where
    with pytest.raises(result_files.ResultFileError,
                       match=r'results/index\.json: result file\(s\) '
                       r'new-table not listed in "files"'):
        zoo.check(root)
    result = run_command([*RENDER, '--repo', root], timeout=120)
    assert result.returncode == 2
    assert 'new-table not listed' in result.stderr

    _edit_index(root, lambda index: index['files'].update({'new-table': dict(
        status='history', render='results', note='A test table.')}))
    problems = zoo.check(root)
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        'results/README.md: table index differs from results/index.json')
    assert problems[1] == (
        'results/README.md: no table new-table (add the markers '
        '<!-- model-zoo:new-table start --> and '
        '<!-- model-zoo:new-table end -->)')
    assert zoo.write(root) == ['results/README.md']
    with open(osp.join(root, 'results', 'README.md')) as f:
        text = f.read()
    assert text.endswith('<!-- model-zoo:new-table end -->\n')
    assert '### A new table\n\nHistory. A test table.\n' in text
    assert ('| [new-table](new-table.json) | history | '
            '[below](#a-new-table) |') in text
    assert zoo.check(root) == []

    # marked to render nowhere: no table, but still a line of the index
    _edit_index(root, lambda index: index['files']['new-table'].update(
        render='nowhere'))
    with pytest.raises(result_files.ResultFileError,
                       match='table.s. new-table have no result file'):
        zoo.check(root)


@pytest.mark.parametrize('change, message', [
    (lambda index: index['files'].update(ghost=dict(
        status='history', render='results', note='x')),
     r'"files"\."ghost": no file results/ghost\.json'),
    (lambda index: index['files']['camvid-fcn-800'].update(render='zoo2'),
     r'render: expected one of zoo, results, nowhere'),
    (lambda index: index['files']['camvid-fcn-800'].update(status='old'),
     r'status: expected one of current, history'),
    (lambda index: index['current'][0].update(results='camvid-lt-3200-cost'),
     r'"current"\[0\]: results: expected a result file of kind accuracy'),
    (lambda index: index['current'][0].update(name='camvid-fcn-800'),
     r"name 'camvid-fcn-800' is not a new block name"),
    (lambda index: index['current'][0]['summary'].update(CE='CE?'),
     r'summary: expected \{"CE": the label of its CE row\}'),
    (lambda index: index['current'][0]['summary'].update(GML='GML'),
     r'summary: expected \{"CE": the label of its CE row\}'),
    (lambda index: index['summary'].append('synthetic-lt-demo'),
     r'is neither a current table nor a result file with "summary_metrics"'),
    (lambda index: index['current'][1].update(
        title=index['current'][0]['title'] + '!'),
     r"table 'current-camvid-deeplabv3plus-800' and \"current\" table "
     r"'current-camvid-fcn-800' render under one heading"),
])
def test_a_broken_index_is_refused_naming_the_field(tmp_path, change,
                                                    message):
    root = copy_repo(tmp_path)
    _edit_index(root, change)
    with pytest.raises(result_files.ResultFileError,
                       match=r'results/index\.json: ' + r'.*' + message):
        zoo.check(root)


def test_a_current_table_shows_each_method_at_its_tuned_value():
    rows = [
        dict(label='CE', config='ce.py', seeds={'0': {'mIoU': 40.0}}),
        dict(label='GML', config='gml.py', seeds={'0': {'mIoU': 50.0}}),
        dict(label='GML (tuned)', config='gml.py', settings='a.b.tau=0.5',
             seeds={'0': {'mIoU': 49.0, 'time_ratio': 1.1}}),
        dict(label='CWCE (tuned)', config='cwce.py',
             settings='loss.exponent=0.5, data.threshold=1',
             seeds={'0': {'mIoU': 51.0}}),
        dict(label='CE', config='ce.py', model='other',
             seeds={'0': {'mIoU': 1.0}}),
    ]
    data = result_files.parse(json.dumps(minimal_result(rows=rows,
                                                        model='tiny')))
    shown = zoo.current_rows(data, 'tiny', 'x.json')
    # the tuned row although the untuned one scored higher, named as the
    # config as committed; a tuned row alone keeps its label
    assert [(label, row['label']) for label, row in shown] == [
        ('CE', 'CE'), ('GML', 'GML (tuned)'),
        ('CWCE (tuned)', 'CWCE (tuned)')]
    assert [zoo._trained_at(row) for _, row in shown] == [
        'config', 'tau=0.5', 'exponent=0.5, threshold=1']
    table = dict(name='t', title='Tiny', results='tiny', model='tiny',
                 summary=dict(CE='CE'))
    results = {'tiny': data}
    assert [label for label, _ in zoo.ranked_rows(table, results)] == [
        'CWCE (tuned)', 'GML', 'CE']
    block = zoo.render_current(table, results, 'configs/gml_seg')
    assert '| GML | tau=0.5 | 0 | 49.0 | - | - | 1.1 |' in block
    summary = zoo.render_summary(results, dict(current=[table],
                                               summary=['t']))
    # the GML column: the best row whose label starts with GML, named
    assert ('| Tiny (val) | mIoU / tail | CWCE (tuned) (exponent=0.5, '
            'threshold=1): 51.0 / - | GML (tau=0.5): 49.0 / - | 40.0 / - | '
            '0 |') in summary
    assert ('CWCE (tuned) (exponent=0.5, threshold=1) is best in 1 of the '
            '1 lines: Tiny.') in ' '.join(summary.split())
    with pytest.raises(result_files.ResultFileError,
                       match='at most one row as committed and one at'):
        zoo.current_rows(minimal_result(rows=rows + [rows[2]], model='tiny'),
                         'tiny', 'x.json')
    # with no row as committed, one config carries a method per label (GML
    # and its post-hoc prior strength evaluate one config); one label twice
    # is ambiguous
    posthoc = dict(label='CWCE, post-hoc', config='cwce.py',
                   settings='loss.exponent=0.5, posthoc=0',
                   seeds={'0': {'mIoU': 51.0}})
    shown = zoo.current_rows(minimal_result(rows=rows + [posthoc],
                                            model='tiny'), 'tiny', 'x.json')
    assert [label for label, _ in shown] == [
        'CE', 'GML', 'CWCE (tuned)', 'CWCE, post-hoc']
    with pytest.raises(result_files.ResultFileError,
                       match='rows at settings of distinct labels'):
        zoo.current_rows(minimal_result(rows=rows + [rows[3]], model='tiny'),
                         'tiny', 'x.json')
    # a GML variant that leads is the best: the column says so
    rows.append(dict(label='GML + class weights', config='gml-cw.py',
                     seeds={'0': {'mIoU': 52.0}}))
    results = {'tiny': result_files.parse(json.dumps(minimal_result(
        rows=rows, model='tiny')))}
    summary = zoo.render_summary(results, dict(current=[table],
                                               summary=['t']))
    assert ('| Tiny (val) | mIoU / tail | GML + class weights: 52.0 / - | '
            '(the best) | 40.0 / - | 0 |') in summary


def test_every_committed_result_file_loads():
    names = [f for f in sorted(os.listdir(osp.join(REPO, 'results')))
             if f.endswith('.json') and f != 'index.json']
    loaded = result_files.load_results(osp.join(REPO, 'results'), REPO)
    assert sorted(loaded) == sorted(name[:-len('.json')] for name in names)
    for name in names:
        data = result_files.load_result(osp.join(REPO, 'results', name))
        assert data['schema'] in result_files.READ_VERSIONS


def test_a_file_of_an_older_schema_ends_in_one_error_line(tmp_path):
    root = copy_repo(tmp_path)
    data = minimal_result(schema=0, rows=[dict(minimal_result()['rows'][0],
                                               colour='red')])
    with open(osp.join(root, 'results', 'old.json'), 'w') as f:
        json.dump(data, f)
    with pytest.raises(result_files.ResultFileError,
                       match=r'old\.json: schema: expected 1 or 2, got 0: .*'
                       'convert it to schema 2'):
        zoo.check(root)
    result = run_command([*RENDER, '--check', '--repo', root], timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(
        'error: results/old.json: schema: expected 1 or 2')
    assert 'or rerun the benchmark that wrote it' in lines[-1]
    assert 'Traceback' not in result.stderr


def test_an_atomic_write_that_fails_midway_leaves_the_old_file(
        tmp_path, monkeypatch):
    path = tmp_path / 'table.json'
    result_files.write_result(minimal_result(title='Old'), str(path))
    old = path.read_text()

    def fail(*_):
        raise OSError('disk full')

    # the new text is in the temporary file when the sync to disk fails
    monkeypatch.setattr(result_files.os, 'fsync', fail)
    with pytest.raises(OSError, match='disk full'):
        result_files.write_result(minimal_result(title='New'), str(path))
    assert path.read_text() == old
    assert [p.name for p in tmp_path.iterdir()] == ['table.json']
    monkeypatch.undo()

    # a file the schema refuses is not written at all
    with pytest.raises(result_files.ResultFileError):
        result_files.write_result(minimal_result(rows=[]), str(path))
    assert path.read_text() == old
    result_files.write_result(minimal_result(title='New'), str(path))
    assert json.loads(path.read_text())['title'] == 'New'
    assert [p.name for p in tmp_path.iterdir()] == ['table.json']


def test_schema_2_adds_ranks_and_bootstrap_differences(tmp_path):
    first = minimal_result()['rows'][0]
    difference = dict(estimate=1.25, low=0.5, high=2.0, significant=True)
    rows = [dict(first, rank=1, differences={'CE': dict(
        seeds=[0, 1], metrics=dict(mIoU=difference, mIoU_tail=dict(
            estimate=None, low=None, high=None, significant=False)))}),
            dict(first, label='CE', rank=2)]
    data = minimal_result(schema=2, rank_by='mIoU', rows=rows, bootstrap=dict(
        method='paired bootstrap', samples=2000, confidence=0.95, seed=0,
        images=4))
    path = str(tmp_path / 'ranked.json')
    result_files.write_result(data, path)
    assert result_files.load_result(path)['rows'][0]['rank'] == 1
    # a version 1 file is read as it was, without the new fields
    with pytest.raises(result_files.ResultFileError,
                       match=r'rank_by: is a field of schema 2; the file '
                       'says schema 1: set "schema": 2'):
        result_files.write_result(dict(data, schema=1), path)
    bad = [
        ({'LA-CE': rows[0]['differences']['CE']},
         r"no row is labelled 'LA-CE'"),
        ({'CE': dict(seeds=[0], metrics=dict(mIoU=dict(
            difference, significant='yes')))}, 'expected true or false'),
        ({'CE': dict(seeds=[0], metrics=dict(mIoU=dict(
            estimate=1)))}, 'missing field "low"'),
    ]
    for differences, message in bad:
        broken = dict(data, rows=[dict(rows[0], differences=differences),
                                  rows[1]])
        with pytest.raises(result_files.ResultFileError, match=message):
            result_files.write_result(broken, path)


def test_recorded_differences_render_as_a_second_table(tmp_path):
    """Each row's differences with their intervals, as the benchmark
    printed them; a file without differences renders no such table."""
    first = minimal_result()['rows'][0]
    rows = [dict(first, label='CE', rank=2),
            dict(first, rank=1, differences={'CE': dict(
                seeds=[0, 1], metrics=dict(
                    mIoU=dict(estimate=1.25, low=-0.5, high=2.0,
                              significant=False),
                    mIoU_tail=dict(estimate=3.1, low=0.75, high=5.5,
                                   significant=True)))})]
    data = minimal_result(schema=2, rank_by='mIoU', rows=rows, bootstrap=dict(
        method='paired bootstrap', samples=2000, confidence=0.95, seed=0))
    path = str(tmp_path / 'ranked.json')
    result_files.write_result(data, path)
    block = zoo.render_table('ranked', result_files.load_result(path),
                             'configs/gml_seg')
    lines = block.splitlines()
    start = lines.index('| method | minus | mIoU | tail |')
    assert lines[start + 2] == ('| GML | CE | +1.25 [-0.5, 2.0] | '
                                '+3.1 [0.75, 5.5]* |')
    assert len(lines) > start + 3 and not lines[start + 3].startswith('|')
    assert '95 % interval of a paired bootstrap' in block
    plain = zoo.render_table('tiny', result_files.parse(
        json.dumps(minimal_result())), 'configs/gml_seg')
    assert '| minus |' not in plain


def test_classes_no_row_learns_are_named_from_every_class_iou(tmp_path):
    """Below 1 IoU at every seed of every row: named in the full table's
    bullets; a class some run learns, or one a run could not evaluate, is
    not; a file with only its shown class columns says nothing."""
    def seeds(ring, belt, hat):
        return {'0': {'mIoU': 10.0, 'IoU_ring': ring[0], 'IoU_belt': belt[0],
                      'IoU_hat': hat[0]},
                '1': {'mIoU': 12.0, 'IoU_ring': ring[1], 'IoU_belt': belt[1],
                      'IoU_hat': hat[1]}}

    rows = [dict(label='CE', config=None,
                 seeds=seeds((0.0, 0.5), (0.0, 0.0), (0.2, None))),
            dict(label='GML', config=None,
                 seeds=seeds((0.99, 0.0), (0.0, 3.5), (0.0, 0.0)))]
    data = result_files.parse(json.dumps(minimal_result(
        metrics=['mIoU', 'IoU_ring'], rows=rows)))
    result_files.validate(data, 'test')
    assert zoo.unlearned_classes(data['rows'], data['metrics']) == (3,
                                                                   ['ring'])
    block = zoo.render_table('tiny', data, 'configs/gml_seg')
    assert ('- Classes no row learns (IoU below 1 at every seed of every '
            'row), of the 3\n  classes: ring.') in block
    # every class learned somewhere: said, not left out
    learned = [dict(rows[0], seeds=seeds((0.0, 1.0), (0.0, 3.5), (2, 2)))]
    assert zoo.unlearned_text(learned, data['metrics']).endswith(
        'of the 3 classes: none.')
    # only the shown columns (the five rarest of an older file): no claim
    assert zoo.unlearned_classes(
        data['rows'], ['mIoU', 'IoU_ring', 'IoU_belt', 'IoU_hat']) is None
    assert zoo.unlearned_classes([dict(label='x', config=None, value={
        'mIoU': 1.0})], ['mIoU']) is None


def test_the_model_zoo_says_where_the_best_gml_variant_stands():
    """Per current table, the best GML variant's place in mIoU and in tail
    and its recorded difference to the first, or to the second where it
    leads (a difference only the other row recorded is read negated, its
    interval mirrored); the place alone for a file without differences."""
    def diff(estimate, low, high):
        return dict(estimate=estimate, low=low, high=high,
                    significant=low > 0 or high < 0)

    rows = [
        dict(label='CE', config='ce.py',
             seeds={'0': {'mIoU': 40.0, 'mIoU_tail': 10.0}}),
        dict(label='CWCE', config='cwce.py',
             seeds={'0': {'mIoU': 52.0, 'mIoU_tail': 20.0}},
             differences={'GML + cw': dict(seeds=[0], metrics=dict(
                 mIoU_tail=diff(-1.5, -2.25, -0.5)))}),
        dict(label='GML', config='gml.py',
             seeds={'0': {'mIoU': 49.0, 'mIoU_tail': 18.0}}),
        dict(label='GML + cw', config='gml-cw.py',
             seeds={'0': {'mIoU': 51.0, 'mIoU_tail': 21.5}},
             differences={'CWCE': dict(seeds=[0], metrics=dict(
                 mIoU=diff(-1.0, -1.75, 0.25)))}),
    ]

    def results_of(rows):
        data = result_files.parse(json.dumps(minimal_result(
            rows=rows, model='tiny', schema=2,
            metrics=['mIoU', 'mIoU_tail'])))
        result_files.validate(data, 'test')
        return {'tiny': data}

    table = dict(name='t', title='Tiny', results='tiny', model='tiny')
    block = zoo.render_standing(results_of(rows), dict(current=[table]),
                                'configs/gml_seg')
    assert ('| [Tiny](#tiny) | GML + cw | 2nd of 4, -1.0 [-1.75, 0.25] '
            'against CWCE | 1st of 4, +1.5 [0.5, 2.25]* over CWCE |'
            ) in block
    # GML + cw below GML in mIoU: GML is the best variant; its tail place
    # against the first, with nothing recorded for that pair
    rows[3]['seeds']['0']['mIoU'] = 48.0
    rows[2]['differences'] = {'CWCE': dict(seeds=[0], metrics=dict(
        mIoU=diff(-3.0, -4.0, -2.0)))}
    ranked = zoo.ranked_rows(table, results_of(rows))
    assert zoo.best_gml_variant(ranked)[0] == 'GML'
    assert zoo.standing_cell(ranked, 'GML', 'mIoU') == (
        '2nd of 4, -3.0 [-4.0, -2.0]* against CWCE')
    assert zoo.standing_cell(ranked, 'GML', 'mIoU_tail') == (
        '3rd of 4 (no recorded difference to GML + cw)')
    # a file without recorded differences: the place only
    for row in rows:
        row.pop('differences', None)
    ranked = zoo.ranked_rows(table, results_of(rows))
    assert zoo.standing_cell(ranked, 'GML', 'mIoU_tail') == '3rd of 4'
    # no GML row: dashes
    block = zoo.render_standing(results_of(rows[:2]), dict(current=[table]),
                                'configs/gml_seg')
    assert '| [Tiny](#tiny) | - | - | - |' in block


@pytest.mark.parametrize('name', ['summary', 'gml-standing', 'a b'])
def test_a_result_file_may_not_take_a_blocks_name(tmp_path, name):
    results_dir = tmp_path / 'results'
    results_dir.mkdir()
    (results_dir / f'{name}.json').write_text(json.dumps(minimal_result()))
    with pytest.raises(result_files.ResultFileError,
                       match=r'a result file is named \[A-Za-z0-9_.-\]\+\.'
                       r'json, and not summary\.json or gml-standing\.json'):
        result_files.load_results(str(results_dir))
