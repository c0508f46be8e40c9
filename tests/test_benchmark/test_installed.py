"""The benchmark from an installed wheel: outside the repository, on a
user's data config over generated data, ``python -m mil_seg.benchmark``
trains two methods and writes their result file."""
import json
import os
import subprocess
import sys

import pytest

#: A user's data config: no ``_base_``, nothing of the repository; the
#: prior names its file only (its class count is read from it).
DATA_CONFIG = '''data_root = {root!r}
crop_size = (32, 32)
prior = dict(type='ClassPrior', file=data_root + '/class_prior.json')
pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]
dataset = dict(type='SyntheticLTDataset', data_root=data_root,
               auto_generate=False, pipeline=pipeline)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/train',
                                           seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, data_prefix=dict(img_path='img_dir/val',
                                           seg_map_path='ann_dir/val')))
val_evaluator = dict(type='LongTailIoUMetric', prior=prior,
                     iou_metrics=['mIoU'])
'''


@pytest.mark.xdist_group('wheel')
def test_installed_benchmark_runs_a_users_data_outside_the_repository(
        installed_wheel, tmp_path):
    from mil_seg.seg.datasets import generate_synthetic_lt_dataset
    data_root = tmp_path / 'my_data'
    generate_synthetic_lt_dataset(str(data_root), num_train=6, num_val=2,
                                  image_size=(32, 32), seed=0)
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'my_data.py').write_text(
        DATA_CONFIG.format(root=str(data_root)))
    # the installed package only: the repository is not on the path
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(PYTHONPATH=installed_wheel.site, PYTHONWARNINGS='ignore',
               OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, '-m', 'mil_seg.benchmark', '--methods', 'ce',
         'lace', '--iters', '2', '--seeds', '0', '--data-config',
         'my_data.py', '--work-dir', 'work', '--model-label', 'tiny FCN',
         '--results-out', 'out/mine.json'],
        cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, (result.stdout[-2000:] +
                                    result.stderr[-3000:])
    # (that this environment imports the installed package and finds its
    # configs there: tests/test_setup.py, with the same PYTHONPATH)
    config = (project / 'work' / 'ce' / 'seed0' / 'config.py').read_text()
    assert 'num_classes=8' in config and str(data_root) in config
    document = json.loads((project / 'out' / 'mine.json').read_text())
    assert document['dataset'] == 'my_data.py'
    assert document['command'].startswith('python -m mil_seg.benchmark ')
    assert [row['label'] for row in document['rows']] == ['CE', 'LA-CE']
    assert [row['config'] for row in document['rows']] == [
        'configs/gml_seg/fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py',
        'configs/gml_seg/fcn-lace_r18-tiny-d8_1xb8-1k_camvid-240x180.py']
    for row in document['rows']:
        (seed, ) = row['seeds'].values()
        assert 0 <= seed['mIoU'] <= 100
        assert seed['peak_mb'] > 0
    assert document['rows'][0]['seeds']['0']['time_ratio'] == 1.0
