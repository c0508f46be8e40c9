"""The benchmark scripts run and print their tables (tiny settings); the
CIFAR-10-LT benchmark prepares its data and configs and writes valid result
files. (The segmentation benchmark is the package's: test_benchmark/.)"""
import argparse
import importlib.util
import math
import os.path as osp
import tarfile

import pytest

from ..tool_runner import ROOT, run_tool


def test_loss_scaling_prints_one_row_per_grid_point():
    result = run_tool('tools/benchmarks/gml_loss_scaling.py', '--anchors',
                      '8', '16', '--queue', '64', '--dims', '4', '--classes',
                      '5', '--repeats', '1', timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| 8 |') or line.startswith('| 16 |')]
    assert len(rows) == 2
    for row in rows:
        cells = row.split('|')
        gml_ms, product_ms = map(float, cells[4:6])
        assert gml_ms > 0 and product_ms > 0
        assert float(cells[7]) > 0  # the old implementation, same run
        # live N x K buffers at the peak, in N x K float32 matrices
        peak, old_peak, product_peak = map(float, cells[9:12])
        assert 0 < peak <= 2.0 < old_peak
        assert product_peak >= 1.0


def test_seg_step_cost_compares_two_configs():
    config = osp.join('configs', 'gml_seg',
                      'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')
    baseline = osp.join('configs', 'gml_seg',
                        'demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py')
    result = run_tool('tools/benchmarks/seg_step_cost.py', baseline, config,
                      '--crop', '32', '32', '--batch', '2', '--iters', '2',
                      '--warmup', '1')
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| demo_')]
    assert len(rows) == 2
    assert rows[0].split('|')[4].strip() == '1.000'  # baseline ratio
    assert rows[1].split('|')[6].strip() == 'True'  # finite loss


def _load_benchmark():
    path = osp.join(ROOT, 'tools', 'benchmarks', 'cifar10_lt.py')
    spec = importlib.util.spec_from_file_location('cifar10_lt_bench', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_data_and_configs(tmp_path, make_image_folder):
    bench = _load_benchmark()
    classes = [f'c{i}' for i in range(10)]
    src = tmp_path / 'src'
    make_image_folder(str(src / 'cifar10' / 'train'), classes, 4, size=8)
    make_image_folder(str(src / 'cifar10' / 'val'), classes, 1, size=8)
    archive = tmp_path / 'cifar10-images.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        tar.add(src / 'cifar10', arcname='cifar10')
    work_dir = str(tmp_path / 'work')
    root = bench.prepare_data(str(archive), work_dir)
    assert osp.isdir(osp.join(root, 'train', 'c0'))
    assert bench.prepare_data(str(archive), work_dir) == root  # cached

    args = argparse.Namespace(
        epochs=2, iters=None, batch_size=4, num_workers=0, val_limit=5,
        seed=0, teacher_checkpoint='teacher.pth')
    cfg, total = bench.build_config('gml-student', args, root, work_dir)
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
    cfg, total = bench.build_config('ce', args, root, work_dir)
    assert total == 3 and cfg.model.head.type == 'LinearClsHead'


def test_cifar_benchmark_writes_a_valid_result_file(tmp_path):
    from mil_seg.benchmark import results as result_files
    from mil_seg.benchmark.zoo import metric_cell
    cifar = _load_benchmark()
    run = dict(name='gml-ema', iters=776, train_s=1200.0, test_s=60.0,
               rss_mb=1958.2, device='cpu',
               metrics={'lt/top1': 41.3, 'lt/many': 40.58,
                        'lt/medium': 44.2, 'lt/few': float('nan')})
    rows = [(cifar.LABELS['gml-ema'], run)]
    args = argparse.Namespace(iters=None, epochs=8.0, batch_size=128,
                              val_limit=None, seed=0)
    result_files.write_result(cifar.results_document(rows, args),
                              str(tmp_path / 'cifar.json'))
    data = result_files.load_results(str(tmp_path), ROOT)['cifar']
    row = data['rows'][0]
    assert data['schedule'] == '8 epochs of 128 a stage'
    assert data['command'].startswith('python ')
    assert [metric_cell(row, m) for m in data['metrics']] == [
        '41.30', '40.58', '44.20', 'n/a', '21.0', '1958']
