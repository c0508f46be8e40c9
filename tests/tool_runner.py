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


def free_port() -> int:
    """A TCP port free on this machine now (for a process group)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_dist_train(config, work_dir, options: list, processes: int = 2,
                   timeout: int = 600, **env):
    """``tools/dist_train.sh config processes`` (gloo on the CPU), its
    output captured."""
    return run_command(
        [
            'bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
            str(processes), '--work-dir', str(work_dir), *options
        ],
        timeout=timeout,
        PYTHON=sys.executable,
        PORT=str(free_port()),
        **env)


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


CLS_CONFIGS = osp.join(ROOT, 'configs', 'gml_cls')
CLS_EMA = osp.join(CLS_CONFIGS,
                   'gml-ema_resnet32_1xb128-200e_cifar10lt-r100.py')
CLS_TEACHER = osp.join(CLS_CONFIGS,
                       'gml-teacher_resnet56_1xb128-200e_cifar10lt-r100.py')
CLS_STUDENT = osp.join(CLS_CONFIGS,
                       'gml_resnet32-resnet56_1xb128-200e_cifar10lt-r100.py')
CLS_NUM_CLASSES = 10


def write_image_folders(root: str, per_class: int = 8, empty=()) -> str:
    """CIFAR-10 style JPEG folders ``root/{train,val}/class<k>/*.jpg`` of
    random 32 x 32 images (``empty`` training classes get none)."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split, count in (('train', per_class), ('val', 2)):
        for k in range(CLS_NUM_CLASSES):
            folder = osp.join(root, split, f'class{k}')
            os.makedirs(folder, exist_ok=True)
            n = 0 if split == 'train' and k in empty else count
            for i in range(n):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                cv2.imwrite(osp.join(folder, f'{i:03d}.jpg'), image)
    return root


def cls_options(data_root: str, max_epochs: int, *extra: str) -> list:
    """``--cfg-options`` of a tiny CIFAR-10-LT folder run: 8 images per
    class before the long-tail subset (21 after), batch 8, no workers, a
    checkpoint and a validation every epoch, seed 0 (the classification
    runtime leaves the seed to chance)."""
    return [
        '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=8', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=8', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1', 'randomness.seed=0', *extra
    ]


#: Queue of the classification runs: 10 x base 2 + 20, so the head
#: classes' rings wrap within two epochs.
CLS_QUEUE_SIZE = 40


def cls_run_options(data_root: str, *more: str):
    """``options(epochs, *extra)`` of the shared classification runs
    (tests/conftest.py): :func:`cls_options` with the queue of
    ``CLS_QUEUE_SIZE`` and ``more``."""
    return lambda epochs, *extra: cls_options(
        data_root, epochs, f'model.head.queue.size={CLS_QUEUE_SIZE}', *more,
        *extra)


def train_ok(config: str, work_dir, options: list, resume=None):
    """``tools/train.py config`` that must succeed; ``resume`` is a
    checkpoint path, or True for ``--resume`` without one (the latest
    checkpoint of ``work_dir``)."""
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    if resume is True:
        args.append('--resume')
    elif resume is not None:
        args += ['--resume', str(resume)]
    result = run_tool(*args, *options)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def logged_losses(work_dir) -> dict:
    """iteration -> logged training losses, from every run in work_dir."""
    import glob
    import json
    losses = {}
    for path in sorted(
            glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                               'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    losses[record['iter']] = {
                        key: value
                        for key, value in record.items() if 'loss' in key
                    }
    return losses


def resume_runs(root, config: str, options, last: int, unit: str) -> dict:
    """The runs of the exact-resume checks, in ``root``: ``full`` trains
    ``last`` iterations (epochs) at once; ``resumed`` trains ``last // 2``
    and resumes from that checkpoint with ``--resume PATH``; ``reseeded``
    does the same without the random-state hook
    (``resume_random_state=False``), resuming with a bare ``--resume`` (the
    latest checkpoint of its work dir).

    Args:
        root (pathlib.Path): Parent of the three work dirs.
        config (str): The config.
        options (callable): ``options(max_iters, *extra)`` -> the
            ``--cfg-options`` of a run.
        last (int): Iterations (epochs) of a whole run.
        unit (str): ``'iter'`` or ``'epoch'``: the checkpoints' names.

    Returns:
        dict: Per run, the last checkpoint (loaded with the default
        ``torch.load``, weights_only on torch >= 2.6) plus ``losses`` (the
        logged losses by iteration), ``work_dir`` and ``resume_result``
        (the resuming subprocess; None for ``full``).
    """
    import torch
    half = last // 2
    results = {'full': None}
    train_ok(config, root / 'full', options(last))
    for name, extra, resume in (
            ('resumed', (), root / 'resumed' / f'{unit}_{half}.pth'),
            ('reseeded', ('resume_random_state=False', ), True)):
        train_ok(config, root / name, options(half, *extra))
        results[name] = train_ok(config, root / name,
                                 options(last, *extra), resume=resume)
    return {
        name: dict(
            torch.load(root / name / f'{unit}_{last}.pth',
                       map_location='cpu'),
            losses=logged_losses(root / name),
            work_dir=root / name,
            resume_result=results[name])
        for name in results
    }
