"""The benchmark scripts run and print their tables (tiny settings); the
CIFAR-10-LT benchmark prepares its data and configs."""
import argparse
import importlib.util
import json
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


CAMVID_OPTIONS = [
    '--iters', '2', '--step-cost-iters', '0', '--cfg-options',
    'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False'
]


def segnet_layout(src) -> None:
    """A tiny SegNet-layout CamVid: train 4, val 2 pairs of 48 x 64."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for split, num in (('train', 4), ('val', 2)):
        (src / split).mkdir(parents=True)
        (src / f'{split}annot').mkdir()
        for i in range(num):
            name = f'0001TP_{split}{i:03d}.png'
            image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            label = rng.integers(0, 12, (48, 64), dtype=np.uint8)
            Image.fromarray(image).save(src / split / name)
            Image.fromarray(label).save(src / f'{split}annot' / name)


def camvid_command(root) -> list:
    """tools/benchmarks/camvid.py on the tiny data in ``root``."""
    return [
        'tools/benchmarks/camvid.py', '--src',
        str(root / 'segnet'), '--data-root',
        str(root / 'camvid'), '--work-dir',
        str(root / 'work'), *CAMVID_OPTIONS
    ]


def run_camvid(root, *args):
    # camvid.py pins its children to --threads (1)
    return run_tool(*camvid_command(root), *args, timeout=900)


@pytest.fixture(scope='module')
def camvid_run(tmp_path_factory):
    """Every default variant of the FCN, 2 iterations, with the post-hoc
    tau sweep."""
    root = tmp_path_factory.mktemp('camvid_benchmark')
    segnet_layout(root / 'segnet')
    result = run_camvid(root, '--posthoc-taus', '-0.5', '0')
    assert result.returncode == 0, (result.stdout[-2000:] +
                                    result.stderr[-3000:])
    return root, result


@pytest.mark.xdist_group('camvid_benchmark')
def test_camvid_benchmark_runs_all_variants_on_tiny_segnet_data(camvid_run):
    tmp_path, result = camvid_run
    main_table = result.stdout.split('Inference prior strength')[0]
    rows = [line for line in main_table.splitlines()
            if line.startswith(('| CE |', '| LA-CE |', '| GML |',
                                '| GML stage 1 (teacher) |',
                                '| GML two stages (student'))]
    assert len(rows) == 5, result.stdout[-2000:]
    # The student was trained with the teacher's checkpoint of this run.
    student_log = (tmp_path / 'work' / 'gml-student' / 'train.out').read_text()
    teacher_ckpt = tmp_path / 'work' / 'gml-teacher' / 'iter_2.pth'
    assert f'Loaded the frozen teacher from {teacher_ckpt}' in student_log
    # Every logit-adjusted variant is swept on train and val: one row each.
    sweep_rows = [line for line in result.stdout.split(
        'chosen per variant')[-1].splitlines() if line.startswith('| ')]
    assert len(sweep_rows) == 1 + 4, result.stdout[-2000:]  # header + rows
    for variant in ('lace', 'gml', 'gml-teacher', 'gml-student'):
        rows = json.loads((tmp_path / 'work' / variant /
                           'posthoc_tau_val.json').read_text())
        assert [row['tau'] for row in rows] == [-0.5, 0.0]


@pytest.mark.xdist_group('camvid_benchmark')
def test_camvid_benchmark_reuses_finished_variants_of_same_budget_and_seed(
        camvid_run):
    """--reuse skips finished variants of the same budget and seed only."""
    tmp_path, result = camvid_run
    again = run_camvid(tmp_path, '--reuse', '--variants', 'ce', 'lace')
    assert again.returncode == 0, again.stderr[-3000:]
    assert '[ce] reusing' in again.stdout and '[lace] reusing' in again.stdout
    assert '| CE | ' + rows_by_label(result.stdout)['CE'] in again.stdout
    other_seed = run_camvid(tmp_path, '--reuse', '--variants', 'ce',
                            '--seed', '1')
    assert other_seed.returncode == 0, other_seed.stderr[-3000:]
    assert '[ce] training 2 iterations' in other_seed.stdout


@pytest.mark.xdist_group('camvid_benchmark')
def test_camvid_benchmark_other_segmentor_is_another_result(camvid_run):
    """Another segmentor is another result: not reused (the FCN's results
    of the same budget are in the work dir), and its default variants are
    those it has configs for (no two stages); variants it has no config
    for are refused before anything is trained. (Runs after the reuse
    checks: it overwrites the FCN's results.)"""
    tmp_path, _ = camvid_run
    other_model = run_camvid(tmp_path, '--reuse', '--model', 'deeplabv3plus')
    assert other_model.returncode == 0, other_model.stderr[-3000:]
    assert 'tiny deeplabv3plus' in other_model.stdout
    for variant in ('ce', 'lace', 'gml'):
        assert f'[{variant}] training 2 iterations' in other_model.stdout
    assert set(rows_by_label(other_model.stdout)) == {
        'loss', 'CE', 'LA-CE', 'GML'}
    result_file = tmp_path / 'work' / 'gml' / 'result.json'
    assert json.loads(result_file.read_text())['model'] == 'deeplabv3plus'
    refused = run_camvid(tmp_path, '--model', 'deeplabv3plus', '--variants',
                         'gml-2stage')
    assert refused.returncode != 0
    assert 'has no config for variant(s) gml-2stage' in refused.stderr


def rows_by_label(stdout: str) -> dict:
    """Main-table cells after the label, by label."""
    table = stdout.split('Inference prior strength')[0]
    return {line.split(' | ')[0][2:]: line.split(' | ', 1)[1]
            for line in table.splitlines() if line.startswith('| ')}


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
