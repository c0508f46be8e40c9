"""Tests of mil_seg.benchmark.combine: result files with the same rows as
one table, a column per metric and source."""
import json

import pytest

from mil_seg.benchmark import combine
from mil_seg.benchmark.results import load_result, write_result
from mil_seg.benchmark.zoo import render_table
from mil_seg.errors import UserError

from ..tool_runner import run_tool

REFERENCE = 'reference: GML as shipped'
CHOICE = 'prior strength: tau 0.5'


def difference(estimate, low, high):
    return dict(estimate=estimate, low=low, high=high,
                significant=low > 0 or high < 0)


def study(dataset, shipped, choice, config='configs/a.py', extra=None,
          seeds=('0', '1')):
    """A design study's result file: the reference, one choice with its
    difference to the reference, and optionally a row of its own."""
    rows = [
        dict(label=REFERENCE, config=config, rank=1,
             seeds={s: dict(mIoU=shipped[0] + i, mIoU_tail=shipped[1],
                            time_ratio=1.0) for i, s in enumerate(seeds)}),
        dict(label=CHOICE, config=config, rank=2, settings='tau=0.5',
             seeds={s: dict(mIoU=choice[0] + i, mIoU_tail=choice[1],
                            time_ratio=1.1) for i, s in enumerate(seeds)},
             differences={REFERENCE: dict(seeds=[int(s) for s in seeds],
                                          metrics=dict(
                 mIoU=difference(choice[0] - shipped[0], -1.0, 2.5),
                 mIoU_tail=difference(choice[1] - shipped[1], 0.5, 3.0)))}),
    ]
    if extra:
        rows.append(dict(label=extra, config=config, seeds={
            s: dict(mIoU=1.0, mIoU_tail=0.0, time_ratio=1.0)
            for s in seeds}))
    return dict(schema=2, title='Design study of GML, tiny FCN, 800 '
                'iterations, held-out split', task='seg', kind='accuracy',
                dataset=dataset, split='held-out 0.2 of train',
                model='tiny FCN', schedule='800 iterations', source='a test',
                metrics=['mIoU', 'mIoU_tail', 'time_ratio'],
                bootstrap=dict(method='paired', samples=1000,
                               confidence=0.95, seed=0, images=10),
                rows=rows)


@pytest.fixture
def sources(tmp_path):
    paths = []
    for name, data in (
            ('camvid', study('CamVid', (40.0, 15.0), (41.0, 16.5))),
            ('ccp', study('CCP', (5.0, 0.0), (4.5, 0.0),
                          config='configs/b.py', extra='added: mine'))):
        path = tmp_path / f'{name}.json'
        write_result(data, str(path))
        paths.append(str(path))
    return paths


def test_rows_take_each_sources_values_and_differences(sources, tmp_path):
    out = tmp_path / 'all.json'
    combine.main(['CamVid FCN=' + sources[0], 'CCP FCN=' + sources[1],
                  '--results-out', str(out)])
    data = load_result(str(out))
    assert data['metrics'] == ['mIoU@CamVid FCN', 'mIoU_tail@CamVid FCN',
                               'mIoU@CCP FCN', 'mIoU_tail@CCP FCN']
    assert data['headers']['mIoU_tail@CCP FCN'] == 'tail (CCP FCN)'
    assert data['title'] == 'Design study of GML: CamVid FCN, CCP FCN'
    assert data['dataset'] == 'CamVid FCN: CamVid; CCP FCN: CCP'
    assert data['split'] == 'held-out 0.2 of train'
    assert 'images' not in data['bootstrap']
    assert data['command'].startswith('mil_seg-bench combine')
    rows = {row['label']: row for row in data['rows']}
    # the first file's order, then the rows only a later file has
    assert list(rows) == [REFERENCE, CHOICE, 'added: mine']
    choice = rows[CHOICE]
    assert float(choice['seeds']['1']['mIoU@CamVid FCN']) == 42.0
    assert float(choice['seeds']['1']['mIoU@CCP FCN']) == 5.5
    assert choice['config'] is None  # one config per segmentor
    assert choice['settings'] == 'tau=0.5'
    against = choice['differences'][REFERENCE]
    assert against['seeds'] == [0, 1]
    assert float(against['metrics']['mIoU@CamVid FCN']['estimate']) == 1.0
    assert float(against['metrics']['mIoU@CCP FCN']['estimate']) == -0.5
    assert against['metrics']['mIoU_tail@CamVid FCN']['significant']
    assert 'time_ratio@CamVid FCN' not in against['metrics']
    assert rows['added: mine']['config'] == 'configs/b.py'
    assert set(rows['added: mine']['seeds']['0']) == {'mIoU@CCP FCN',
                                                      'mIoU_tail@CCP FCN'}


def test_the_combined_file_renders_one_table_of_values_and_differences(
        sources, tmp_path):
    out = tmp_path / 'all.json'
    combine.main(['A=' + sources[0], 'B=' + sources[1], '--metrics', 'mIoU',
                  '--title', 'GML design', '--results-out', str(out)])
    text = render_table('all', load_result(str(out)), 'configs/gml_seg')
    lines = text.splitlines()
    assert lines[0] == '### GML design'
    assert lines[2].startswith('| method |')
    assert '| mIoU (A) | mIoU (B) |' in lines[2]
    # the reference: CamVid's seeds 40, 41; CCP's 5, 6
    assert '| 40.5 ± 0.7 | 5.5 ± 0.7 |' in text
    assert f'| {CHOICE} | {REFERENCE} | +1.0 [-1.0, 2.5] | ' \
        '-0.5 [-1.0, 2.5] |' in text


def test_bad_sources_are_refused_naming_the_fix(sources, tmp_path, capsys):
    out = str(tmp_path / 'all.json')
    for argv, message in (
            ([sources[0]], "give NAME=FILE"),
            (['A=' + sources[0]], 'two or more'),
            (['A=' + sources[0], 'A=' + sources[1]], 'names must differ'),
            (['A@1=' + sources[0], 'B=' + sources[1]], 'without "@"')):
        with pytest.raises(SystemExit):
            combine.main([*argv, '--results-out', out])
        assert message in capsys.readouterr().err
    with pytest.raises(UserError, match=r'has no IoU_bicyclist \(its '
                       r'metrics: mIoU, mIoU_tail, time_ratio\)'):
        combine.main(['A=' + sources[0], 'B=' + sources[1], '--metrics',
                      'mIoU', 'IoU_bicyclist', '--results-out', out])
    three = study('CCP', (5.0, 0.0), (4.5, 0.0), seeds=('0', '1', '2'))
    write_result(three, str(tmp_path / 'three.json'))
    with pytest.raises(UserError, match=r"row 'reference: GML as shipped' "
                       r'has other seeds in each file \(A: 0 1; B: 0 1 2\)'):
        combine.main(['A=' + sources[0], f'B={tmp_path / "three.json"}',
                      '--results-out', out])
    tuning = json.loads(open(sources[0]).read())
    tuning.update(kind='tuning', rule='the best held-out mIoU')
    tuning['rows'][0]['chosen'] = True
    write_result(tuning, str(tmp_path / 'tuning.json'))
    with pytest.raises(UserError, match='a tuning file; only accuracy'):
        combine.main(['A=' + sources[0], f'B={tmp_path / "tuning.json"}',
                      '--results-out', out])
    with pytest.raises(UserError, match='missing.json \\(B\\): no such file'):
        combine.main(['A=' + sources[0], f'B={tmp_path / "missing.json"}',
                      '--results-out', out])
    assert not (tmp_path / 'all.json').exists()


def test_command_line_error_is_one_line(sources, tmp_path):
    result = run_tool('-m', 'mil_seg.benchmark', 'combine',
                      'A=' + sources[0], 'B=' + sources[1], '--metrics',
                      'top1', '--results-out', str(tmp_path / 'all.json'))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1 and 'has no top1' in errors[0]
    assert not (tmp_path / 'all.json').exists()
