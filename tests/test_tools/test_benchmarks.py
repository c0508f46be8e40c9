"""The benchmark scripts run and print their tables (tiny settings)."""
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_loss_scaling_prints_one_row_per_grid_point():
    result = subprocess.run(
        [sys.executable, 'tools/benchmarks/gml_loss_scaling.py',
         '--anchors', '8', '16', '--queue', '64', '--dims', '4',
         '--classes', '5', '--repeats', '1'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| 8 |') or line.startswith('| 16 |')]
    assert len(rows) == 2
    for row in rows:
        gml_ms, product_ms = map(float, row.split('|')[4:6])
        assert gml_ms > 0 and product_ms > 0


def test_seg_step_cost_compares_two_configs():
    config = osp.join('configs', 'gml_seg',
                      'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')
    baseline = osp.join('configs', 'gml_seg',
                        'demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py')
    result = subprocess.run(
        [sys.executable, 'tools/benchmarks/seg_step_cost.py', baseline,
         config, '--crop', '32', '32', '--batch', '2', '--iters', '2',
         '--warmup', '1'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith('| demo_')]
    assert len(rows) == 2
    assert rows[0].split('|')[4].strip() == '1.000'  # baseline ratio
    assert rows[1].split('|')[6].strip() == 'True'  # finite loss


def test_camvid_benchmark_runs_all_variants_on_tiny_segnet_data(tmp_path):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    src = tmp_path / 'segnet'
    for split, num in (('train', 4), ('val', 2)):
        (src / split).mkdir(parents=True)
        (src / f'{split}annot').mkdir()
        for i in range(num):
            name = f'0001TP_{split}{i:03d}.png'
            image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            label = rng.integers(0, 12, (48, 64), dtype=np.uint8)
            Image.fromarray(image).save(src / split / name)
            Image.fromarray(label).save(src / f'{split}annot' / name)
    command = [
        sys.executable, 'tools/benchmarks/camvid.py', '--src', str(src),
        '--data-root', str(tmp_path / 'camvid'), '--work-dir',
        str(tmp_path / 'work'), '--iters', '2', '--step-cost-iters', '0',
        '--cfg-options', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    result = subprocess.run(
        command + ['--posthoc-taus', '-0.5', '0'],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-2000:] +
                                    result.stderr[-3000:])
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

    # --reuse skips finished variants of the same budget and seed only.
    again = subprocess.run(
        command + ['--reuse', '--variants', 'ce', 'lace'],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert '[ce] reusing' in again.stdout and '[lace] reusing' in again.stdout
    assert '| CE | ' + rows_by_label(result.stdout)['CE'] in again.stdout
    other_seed = subprocess.run(
        command + ['--reuse', '--variants', 'ce', '--seed', '1'],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert other_seed.returncode == 0, other_seed.stderr[-3000:]
    assert '[ce] training 2 iterations' in other_seed.stdout

    # Another segmentor is another result: not reused, and its default
    # variants are those it has configs for (no two stages).
    other_model = subprocess.run(
        command + ['--reuse', '--model', 'deeplabv3plus'],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert other_model.returncode == 0, other_model.stderr[-3000:]
    assert 'tiny deeplabv3plus' in other_model.stdout
    for variant in ('ce', 'lace', 'gml'):
        assert f'[{variant}] training 2 iterations' in other_model.stdout
    assert set(rows_by_label(other_model.stdout)) == {
        'loss', 'CE', 'LA-CE', 'GML'}
    result_file = tmp_path / 'work' / 'gml' / 'result.json'
    assert json.loads(result_file.read_text())['model'] == 'deeplabv3plus'
    refused = subprocess.run(
        command + ['--model', 'deeplabv3plus', '--variants', 'gml-2stage'],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert refused.returncode != 0
    assert 'has no config for variant(s) gml-2stage' in refused.stderr


def rows_by_label(stdout: str) -> dict:
    """Main-table cells after the label, by label."""
    table = stdout.split('Inference prior strength')[0]
    return {line.split(' | ')[0][2:]: line.split(' | ', 1)[1]
            for line in table.splitlines() if line.startswith('| ')}
