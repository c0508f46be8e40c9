"""The model-zoo tables of the READMEs are rendered from results/*.json."""
import importlib.util
import json
import os.path as osp
import shutil
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'analysis', 'render_model_zoo.py')


def load_script(path: str, name: str):
    """Import a tool by path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


zoo = load_script(SCRIPT, 'render_model_zoo')


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
        '\n\nrun: python tools/analysis/render_model_zoo.py')


def test_every_result_file_has_its_table_and_the_summary_its_rows():
    results = zoo.load_results(osp.join(REPO, 'results'), REPO)
    assert results
    for name, data in results.items():
        with open(osp.join(REPO, zoo.TASK_READMES[data['task']]),
                  encoding='utf-8') as f:
            assert f'<!-- model-zoo:{name} start -->' in f.read()
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    summary = readme[readme.index('<!-- model-zoo:summary start -->'):]
    assert '| CamVid, tiny FCN, 800 iterations (val) | mIoU / tail |' in (
        summary)


def test_a_changed_number_fails_the_check(tmp_path):
    root = copy_repo(tmp_path)
    path = osp.join(root, 'results', 'camvid-fcn-800.json')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    assert text.count('"mIoU": 50.43') == 1
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text.replace('"mIoU": 50.43', '"mIoU": 50.48'))
    # (seeds 0-4 of GML: 50.16 -> 50.17 in the table and the summary)
    problems = zoo.check(root)
    assert len(problems) == 2, problems
    assert any('configs/gml_seg/README.md: table camvid-fcn-800 differs'
               in p for p in problems)
    assert any('README.md: table summary differs' in p for p in problems)

    result = subprocess.run(
        [sys.executable, SCRIPT, '--check', '--repo', root],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert '+| GML [1] |' in result.stdout and '50.17' in result.stdout

    result = subprocess.run([sys.executable, SCRIPT, '--repo', root],
                            capture_output=True, text=True, timeout=60)
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
    with pytest.raises(zoo.ResultFileError,
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
    with pytest.raises(zoo.ResultFileError, match=r'tiny\.json: ' + message):
        zoo.load_results(str(results))


def test_a_seed_written_twice_is_refused(tmp_path):
    text = json.dumps(minimal_result()).replace(
        '"1": {"mIoU": 2.0', '"0": {"mIoU": 2.0')
    (tmp_path / 'tiny.json').write_text(text)
    with pytest.raises(zoo.ResultFileError,
                       match=r'tiny\.json: key\(s\) 0 repeated in one object'):
        zoo.load_results(str(tmp_path))


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
    with pytest.raises(zoo.ResultFileError, match=message):
        zoo.load_results(str(tmp_path), repo=str(tmp_path))


def test_the_cli_prints_one_error_line_for_a_malformed_file(tmp_path):
    root = copy_repo(tmp_path)
    with open(osp.join(root, 'results', 'broken.json'), 'w') as f:
        f.write('{"schema": 1,')
    result = subprocess.run(
        [sys.executable, SCRIPT, '--check', '--repo', root],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(
        'error: results/broken.json: not valid JSON')
    assert 'Traceback' not in result.stderr


def test_cells_keep_the_recorded_precision():
    text = json.dumps(minimal_result())
    assert text.count('"mIoU_tail": 0.5}') == 1
    data = zoo.parse(text.replace('"mIoU_tail": 0.5}', '"mIoU_tail": 0.50}'))
    zoo.validate(data, 'tiny.json')
    row = data['rows'][0]
    # mean 1.625 rounds half up; std of (1.25, 2.00) is 0.53033
    assert zoo.metric_cell(row, 'mIoU') == '1.63 ± 0.53'
    assert zoo.metric_cell(row, 'mIoU', with_std=False) == '1.63'
    assert zoo.metric_cell(row, 'mIoU_tail') == '0.75 ± 0.35'
    assert zoo.metric_cell(row, 'mIoU_head') == '-'
    assert zoo.seeds_cell(row) == '0, 1'
    reported = {'mean': {'top1': zoo.parse('30.20'), 'few': None},
                'seeds_used': [0, 1, 2]}
    assert zoo.metric_cell(reported, 'top1') == '30.20'
    assert zoo.metric_cell(reported, 'few') == 'n/a'
    assert zoo.seeds_cell(reported) == '0-2'


def test_a_new_result_file_is_appended_to_its_readme(tmp_path):
    root = copy_repo(tmp_path)
    data = minimal_result(title='A new table')
    with open(osp.join(root, 'results', 'new-table.json'), 'w') as f:
        json.dump(data, f)
    problems = zoo.check(root)
    assert problems == [
        'configs/gml_seg/README.md: no table new-table (add the markers '
        '<!-- model-zoo:new-table start --> and '
        '<!-- model-zoo:new-table end -->)'
    ]
    assert zoo.write(root) == ['configs/gml_seg/README.md']
    with open(osp.join(root, 'configs', 'gml_seg', 'README.md')) as f:
        text = f.read()
    assert text.endswith('<!-- model-zoo:new-table end -->\n')
    assert '### A new table' in text
    assert zoo.check(root) == []


def test_benchmarks_write_valid_result_files(tmp_path):
    import argparse
    camvid = load_script(
        osp.join(REPO, 'tools', 'benchmarks', 'camvid.py'), 'camvid_bench')
    classes = ['sky', 'building', 'pole', 'road', 'pavement', 'tree',
               'sign-symbol', 'fence', 'car', 'pedestrian', 'bicyclist']
    runs = [dict(variant=variant, classes=classes,
                 iou=[50.0] * 10 + [float('nan')],
                 metrics=dict(mIoU=47.7, mIoU_head=71.81, mIoU_body=74.654,
                              mIoU_tail=26.2), train_seconds=372.0,
                 peak_mb=1139.4) for variant in ('ce', 'gml')]
    args = argparse.Namespace(model='fcn', iters=800, seed=3, threads=1,
                              cfg_options=['model.decode_head.prior.tau=1'])
    out = tmp_path / 'camvid.json'
    camvid.zoo.write_result(camvid.results_document(runs, args), str(out))
    data = zoo.load_results(str(tmp_path), REPO)['camvid']
    assert data['rows'][1]['config'] == (
        'configs/gml_seg/fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py')
    seed = data['rows'][0]['seeds']['3']
    assert '"mIoU": 47.70,' in out.read_text()  # the printed precision
    assert seed['mIoU_body'] == zoo.parse('74.65')
    assert seed['IoU_bicyclist'] is None  # NaN: no pixel of the class
    assert zoo.metric_cell(data['rows'][0], 'train_min') == '6.2'
    out.unlink()

    cifar = load_script(
        osp.join(REPO, 'tools', 'benchmarks', 'cifar10_lt.py'), 'cifar_bench')
    run = dict(name='gml-ema', iters=776, train_s=1200.0, test_s=60.0,
               rss_mb=1958.2, device='cpu',
               metrics={'lt/top1': 41.3, 'lt/many': 40.58,
                        'lt/medium': 44.2, 'lt/few': float('nan')})
    rows = [(cifar.LABELS['gml-ema'], run)]
    args = argparse.Namespace(iters=None, epochs=8.0, batch_size=128,
                              val_limit=None, seed=0)
    cifar.zoo.write_result(cifar.results_document(rows, args),
                           str(tmp_path / 'cifar.json'))
    data = zoo.load_results(str(tmp_path), REPO)['cifar']
    row = data['rows'][0]
    assert data['schedule'] == '8 epochs of 128 a stage'
    assert [zoo.metric_cell(row, m) for m in data['metrics']] == [
        '41.30', '40.58', '44.20', 'n/a', '21.0', '1958']
