"""mil_seg.benchmark.cifar10_lt: it prepares its data and configs, hands a
run's result from its process back through a file, and writes valid
result files (no training here)."""
import argparse
import json
import math
import os.path as osp
import tarfile

import pytest

from mil_seg.benchmark import cifar10_lt
from mil_seg.benchmark import results as result_files
from mil_seg.benchmark.runs import ProcessResult
from mil_seg.benchmark.zoo import metric_cell

from ..tool_runner import ROOT


def test_benchmark_data_and_configs(tmp_path, make_image_folder):
    classes = [f'c{i}' for i in range(10)]
    src = tmp_path / 'src'
    make_image_folder(str(src / 'cifar10' / 'train'), classes, 4, size=8)
    make_image_folder(str(src / 'cifar10' / 'val'), classes, 1, size=8)
    archive = tmp_path / 'cifar10-images.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        tar.add(src / 'cifar10', arcname='cifar10')
    work_dir = str(tmp_path / 'work')
    root = cifar10_lt.prepare_data(str(archive), work_dir)
    assert osp.isdir(osp.join(root, 'train', 'c0'))
    assert cifar10_lt.prepare_data(str(archive), work_dir) == root  # cached

    args = argparse.Namespace(
        epochs=2, iters=None, batch_size=4, num_workers=0, val_limit=5,
        seed=0, teacher_checkpoint='teacher.pth')
    cfg, total = cifar10_lt.build_config('gml-student', args, root, work_dir)
    # LongTailSubset of 4 per class at imbalance 100: 4, 3, 2, 1, 1, ...
    assert total == 2 * math.ceil(sum([4, 3, 2, 1, 1, 1, 1, 1, 1, 1]) / 4)
    assert cfg.train_cfg.max_iters == total
    assert cfg.param_scheduler[1].milestones == [
        round(0.8 * total), round(0.9 * total)
    ]
    assert cfg.model.teacher.checkpoint == 'teacher.pth'
    assert cfg.model.type == 'GMLClassifier'
    assert cfg.train_dataloader.dataset.dataset.data_root == root
    assert len(cfg.test_dataloader.dataset.indices) == 5
    args.iters = 3
    cfg, total = cifar10_lt.build_config('ce', args, root, work_dir)
    assert total == 3 and cfg.model.head.type == 'LinearClsHead'


def _args(work_dir):
    return cifar10_lt.build_parser().parse_args(
        ['--data', 'data.tar.gz', '--work-dir', str(work_dir), '--iters',
         '3'])


def test_a_run_is_the_benchmarks_process_and_its_result_a_file(
        tmp_path, monkeypatch):
    args, calls = _args(tmp_path), []
    stale = cifar10_lt.result_file(str(tmp_path), 'ce')
    result_files.write_json(stale, {'name': 'a former run'})

    def run_process(command, log, threads=1, cwd=None):
        calls.append((command, log, threads))
        assert not osp.exists(stale)  # a former result is never read
        result_files.write_json(stale, {'name': 'ce', 'iters': 3})
        return ProcessResult(0, 1.0, 10.0)

    monkeypatch.setattr(cifar10_lt, 'run_process', run_process)
    assert cifar10_lt.launch('ce', args) == {'name': 'ce', 'iters': 3}
    ((command, log, threads), ) = calls
    assert command[1:5] == ['-m', cifar10_lt.MODULE, '--run-one', 'ce']
    assert command[command.index('--iters') + 1] == '3'
    assert log == osp.join(str(tmp_path), 'ce', 'run.out')
    assert threads is None  # each run alone on the machine


def test_a_failed_run_ends_the_benchmark_with_its_output(tmp_path,
                                                         monkeypatch):

    def run_process(command, log, threads=1, cwd=None):
        with open(log, 'a') as f:
            f.write('Traceback ...\nValueError: no images\n')
        return ProcessResult(1, 1.0, 10.0)

    monkeypatch.setattr(cifar10_lt, 'run_process', run_process)
    with pytest.raises(SystemExit, match='ce failed .1.(.|\n)*no images'):
        cifar10_lt.launch('ce', _args(tmp_path))


def test_cifar_benchmark_writes_a_valid_result_file(tmp_path):
    run = dict(name='gml-ema', iters=776, train_s=1200.0, test_s=60.0,
               rss_mb=1958.2, device='cpu',
               metrics={'lt/top1': 41.3, 'lt/many': 40.58,
                        'lt/medium': 44.2, 'lt/few': float('nan')})
    rows = [(cifar10_lt.LABELS['gml-ema'], run)]
    args = argparse.Namespace(iters=None, epochs=8.0, batch_size=128,
                              val_limit=None, seed=0)
    command = ['python', 'tools/benchmarks/cifar10_lt.py', '--data', 'd']
    result_files.write_result(
        cifar10_lt.results_document(rows, args, command),
        str(tmp_path / 'cifar.json'))
    data = result_files.load_results(str(tmp_path), ROOT)['cifar']
    row = data['rows'][0]
    assert data['schedule'] == '8 epochs of 128 a stage'
    assert data['command'] == ' '.join(command)
    assert row['config'].startswith('configs/gml_cls/gml-ema_resnet32_')
    assert [metric_cell(row, m) for m in data['metrics']] == [
        '41.30', '40.58', '44.20', 'n/a', '21.0', '1958']
    default = cifar10_lt.results_document(rows, args)['command']
    assert default.startswith(f'python -m {cifar10_lt.MODULE}')
