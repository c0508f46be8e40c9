"""The benchmark that the Slurm and the kill-point tests compare against:
one uninterrupted local run, trained once per session (its users carry
``xdist_group('slurm')``, so one worker trains it)."""
import os.path as osp

import pytest

from ..tool_runner import ROOT, run_tool
from .reference import Benchmark, benchmark_args


@pytest.fixture(scope='session')
def bench_data_config(tmp_path_factory) -> str:
    """Generated long-tailed data (8 classes, 10 + 4 images of 32 x 32)
    and its data config."""
    root = tmp_path_factory.mktemp('bench_data')
    data_root = str(root / 'syn')
    result = run_tool('tools/dataset_converters/make_synthetic_lt.py',
                      data_root, '--num-train', '10', '--num-val', '4',
                      '--size', '32', '32')
    assert result.returncode == 0, result.stderr[-3000:]
    base = osp.join(ROOT, 'configs', '_base_', 'datasets', 'synthetic_lt.py')
    config = root / 'my_data.py'
    config.write_text(f'''_base_ = [{base!r}]
data_root = {data_root!r}
crop_size = (32, 32)
prior = dict(type='ClassPrior', num_classes=8,
             file=data_root + '/class_prior.json')
loader = dict(num_workers=0, persistent_workers=False,
              dataset=dict(data_root=data_root, auto_generate=False))
train_dataloader = dict(batch_size=2, **loader)
val_dataloader = dict(batch_size=1, **loader)
test_dataloader = val_dataloader
val_evaluator = dict(prior=dict(_delete_=True, **prior))
test_evaluator = val_evaluator
''')
    return str(config)


@pytest.fixture(scope='session')
def reference_benchmark(bench_data_config, tmp_path_factory) -> Benchmark:
    """The benchmark of :func:`benchmark_args`, run locally without
    interruption, in two steps: ``--tune-only`` (the trials), then the whole
    command (the trials read back, the seeds trained). Its users (the
    command's own tests, the kill-point and the Slurm runs that must end
    with its tables) carry ``xdist_group('slurm')``, so one worker runs it.
    """
    root = tmp_path_factory.mktemp('reference_benchmark')
    args = benchmark_args(bench_data_config, root / 'work',
                          root / 'lt.json')
    tune_only = [arg for arg in args if arg != '--tune'] + ['--tune-only']
    tuned = run_tool('-m', 'mil_seg.benchmark', *tune_only, timeout=1200)
    assert tuned.returncode == 0, (tuned.stdout + tuned.stderr)[-4000:]
    left = sorted(str(path.relative_to(root)) for path in root.glob('**/*')
                  if path.parent in (root, root / 'work'))
    result = run_tool('-m', 'mil_seg.benchmark', *args, timeout=1200)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return Benchmark(bench_data_config, args, str(root / 'lt.json'),
                     result.stdout, tuned.stdout, left)
