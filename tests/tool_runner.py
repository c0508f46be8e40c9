"""Running the repository's tools in subprocesses, for the tests that drive
``tools/`` end to end (imported by them; not a test module)."""
import os
import os.path as osp
import subprocess
import sys
from typing import List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_GML = osp.join(ROOT, 'configs', 'gml_seg',
                    'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')


def tool_env(**extra) -> dict:
    """Environment of a tool subprocess: one thread, the repo importable."""
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT, env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    env.update(extra)
    return env


def run_command(args: List[str], timeout: int = 600, **env):
    """Run a command from the repository root, capturing its output."""
    return subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=tool_env(**env))


def run_tool(*args, timeout: int = 600, **env):
    """Run ``python <tool> args...`` from the repository root."""
    return run_command([sys.executable, *args], timeout=timeout, **env)


def small_seg_options(data_root: str, max_iters: int, *extra: str) -> list:
    """``--cfg-options`` for a tiny, deterministic demo run on ``data_root``
    (32 x 32 images, batch 2, no workers, checkpoints every 2 iterations)."""
    options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.auto_generate=False',
        'val_dataloader.dataset.auto_generate=False',
        'test_dataloader.dataset.auto_generate=False',
        f'val_evaluator.prior={data_root}/class_prior.json',
        f'test_evaluator.prior={data_root}/class_prior.json',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'model.data_preprocessor.size=[32,32]',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler=[]',
        'model.decode_head.queue.size=256',
        'model.decode_head.anchor_sampler.max_anchors_per_image=32',
        *extra
    ]
    return ['--cfg-options', *options]
