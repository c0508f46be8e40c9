"""What ``tools/train.py`` and ``tools/test.py`` share: config preparation,
up-front checks of the config, and turning user errors into one clear line.

The launchers stay as thin as MMSegmentation's; nothing here knows about a
model. Both segmentation (``default_scope='mmseg'``) and classification
(``default_scope='mmpretrain'``) configs go through the same path.
"""
import argparse
import atexit
import os
import os.path as osp
import sys
import threading
import traceback
from typing import Any, Callable, Iterator, List, NoReturn, Optional

from mmengine.config import Config, DictAction

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
SUPPORTED_SCOPES = ('mmseg', 'mmpretrain')


class UserConfigError(Exception):
    """A problem the user fixes in the config or on the command line."""


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by the train and test launchers."""
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--work-dir', help='directory for logs and checkpoints; defaults '
        'to ./work_dirs/<config name>')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.batch_size=4 model.decode_head.num_classes=11')
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help='job launcher: none (one process), pytorch (torchrun), slurm')
    # torchrun passes LOCAL_RANK in the environment; old launchers pass it
    # as an argument.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Read the config and apply the command-line overrides.

    Args:
        args (argparse.Namespace): Parsed arguments of a launcher.

    Returns:
        Config: The config, with ``launcher`` and ``work_dir`` set.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise UserConfigError(f'config file not found: {args.config}')
    try:
        cfg = Config.fromfile(args.config)
    except (ImportError, ModuleNotFoundError) as error:
        raise UserConfigError(
            f'config {args.config} imports a module that cannot be '
            f'imported ({error}); check `custom_imports` and that the '
            'package is installed') from error
    except FileNotFoundError as error:
        raise UserConfigError(
            f'config {args.config} refers to a missing file: {error}; check '
            'its `_base_` entries') from error
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise UserConfigError(
            f'config {args.config} has default_scope={scope!r}; mil_seg '
            f'launchers run configs with default_scope in {SUPPORTED_SCOPES}')
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.launcher != 'none':
        _use_gloo_without_cuda(cfg)
    return cfg


def load_evaluation_config(args: argparse.Namespace) -> Config:
    """Config of a launcher that evaluates ``args.checkpoint``.

    Args:
        args (argparse.Namespace): Parsed arguments with ``checkpoint``.

    Returns:
        Config: :func:`load_config`'s, with ``load_from`` set and the test
        data checked.

    Raises:
        UserConfigError: If the checkpoint or the test data is missing.
    """
    cfg = load_config(args)
    if not osp.isfile(args.checkpoint):
        raise UserConfigError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    check_data(cfg, ['test_dataloader'])
    return cfg


def _use_gloo_without_cuda(cfg: Config) -> None:
    import torch

    from .compat import register_cpu_ddp_wrapper
    if torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    wrapper = register_cpu_ddp_wrapper()
    wrapper_cfg = cfg.get('model_wrapper_cfg') or {}
    if wrapper_cfg.get('type', 'MMDistributedDataParallel') in (
            'MMDistributedDataParallel', wrapper.__name__):
        wrapper_cfg['type'] = wrapper.__name__
        cfg.model_wrapper_cfg = wrapper_cfg


def enable_amp(cfg: Config) -> None:
    """Switch the config to mmengine's mixed-precision optimizer wrapper.

    Args:
        cfg (Config): The training config, changed in place.

    Raises:
        UserConfigError: Without an accelerator: mmengine's
            ``AmpOptimWrapper`` needs a GPU (or NPU, MLU, MUSA).
    """
    from mmengine.device import get_device
    if get_device() == 'cpu':
        raise UserConfigError(
            '--amp needs a GPU (mmengine\'s AmpOptimWrapper runs on gpu, '
            'npu, mlu or musa) and none is visible: train without --amp on '
            'the CPU')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def add_random_state_hook(cfg: Config) -> None:
    """Add :class:`~mil_seg.engine.RandomStateHook` to ``custom_hooks``.

    A resumed run then continues the random streams of the interrupted run
    (see the hook). Nothing is added where the config lists the hook already
    or sets ``resume_random_state=False``.

    Args:
        cfg (Config): The training config, changed in place.
    """
    if not cfg.get('resume_random_state', True):
        return
    hooks = list(cfg.get('custom_hooks') or [])
    names = ('RandomStateHook', 'mmengine.RandomStateHook')
    if any(hook.get('type') in names for hook in hooks
           if isinstance(hook, dict)):
        return
    hooks.append(dict(type='RandomStateHook'))
    cfg.custom_hooks = hooks


def _dataset_configs(node: Any) -> Iterator[dict]:
    """Every dict under ``node`` that has a ``data_root`` or ``data_prefix``."""
    if isinstance(node, dict):
        if 'data_root' in node or 'data_prefix' in node or 'ann_file' in node:
            yield node
        for value in node.values():
            yield from _dataset_configs(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _dataset_configs(value)


def missing_data_paths(cfg: Config, loaders: List[str]) -> List[str]:
    """Data roots and annotation files named by ``loaders`` that do not exist.

    Args:
        cfg (Config): The config.
        loaders (list[str]): Keys of the dataloaders to check, e.g.
            ``['train_dataloader', 'val_dataloader']``.

    Returns:
        list[str]: Missing paths, each once, in config order.
    """
    missing = []
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for dataset in _dataset_configs(loader.get('dataset', {})):
            if dataset.get('auto_generate'):
                continue  # generated on first use
            root = dataset.get('data_root') or ''
            paths = [root] if root else []
            ann_file = dataset.get('ann_file')
            if isinstance(ann_file, str) and ann_file:
                paths.append(osp.join(root, ann_file))
            for path in paths:
                if path and not osp.exists(path) and path not in missing:
                    missing.append(path)
    return missing


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Raise :class:`UserConfigError` naming the first missing data path."""
    missing = missing_data_paths(cfg, loaders)
    if missing:
        raise UserConfigError(
            f'data not found: {missing[0]} (from {loaders}); prepare the '
            'dataset (README, "Datasets") or point the config at it with '
            '--cfg-options train_dataloader.dataset.data_root=PATH ...')


def _registry_error(error: KeyError) -> Optional[str]:
    message = str(error.args[0]) if error.args else ''
    if 'registry' in message and 'is not in the' in message:
        return (f'{message.split(". ")[0]}; check the `type` in the config '
                'and that `custom_imports` imports the package defining it')
    return None


def _raised_by_this_package(error: BaseException) -> bool:
    """Whether ``error`` (or one it was raised from, as mmengine's registry
    re-raises build errors) comes from a check in this package."""
    package_dir = osp.dirname(osp.abspath(__file__))
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = traceback.extract_tb(error.__traceback__)
        if frames and osp.abspath(frames[-1].filename).startswith(
                package_dir + osp.sep):
            return True
        error = error.__cause__ or error.__context__
    return False


def _process_group_initialized() -> bool:
    import torch.distributed as torch_dist
    return torch_dist.is_available() and torch_dist.is_initialized()


def release_process_group() -> bool:
    """End a distributed run: wait for all ranks, then destroy the default
    process group.

    Only called after a normal end: a rank that failed must not wait for
    the others.

    Returns:
        bool: Whether there was a process group to release.
    """
    import torch.distributed as torch_dist
    if not _process_group_initialized():
        return False
    torch_dist.barrier()
    torch_dist.destroy_process_group()
    return True


def exit_without_finalization(status: int = 0) -> NoReturn:
    """Leave a distributed rank without tearing down the interpreter.

    Background threads of PyTorch (gloo's workers, which free each finished
    collective after its caller has moved on; autograd's) may drop the
    last reference to a tensor owned by Python while the interpreter
    finalises. Taking the GIL then kills the thread inside a ``noexcept``
    destructor and the rank aborts (``terminate called without an active
    exception``, exit -6), so a finished run fails under ``torchrun``.
    Neither a barrier nor ``destroy_process_group`` closes that window
    (PyTorch issue 190489). Everything a normal exit would do for the
    user still happens while Python is fully alive: non-daemon threads
    are joined and the ``atexit`` handlers run (log files flushed and
    closed, dataloader workers stopped); only the teardown of modules is
    skipped, by ``os._exit``.

    Args:
        status (int): Exit status. Defaults to 0.
    """
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # closed or gone: nothing left to lose
    os._exit(status)


def run_guarded(main: Callable[[], Any],
                exit_distributed: bool = False) -> Any:
    """Run a launcher's ``main``; user errors end with one line on stderr.

    Errors a user can fix (missing data or files, unknown module type, bad
    config, and the package's own checks of configs and data)
    are printed as ``error: ...`` and the process exits with status 2.
    Anything else is a bug and keeps its traceback. Set
    ``MIL_SEG_TRACEBACK=1`` to see tracebacks for user errors too.
    A run that ends normally destroys its process group (see
    :func:`release_process_group`).

    Args:
        main (Callable): The launcher's work.
        exit_distributed (bool): In a distributed run, leave the process
            through :func:`exit_without_finalization`: with status 0 after
            a normal end instead of returning, with status 2 after a user
            error (the process group kept: the other ranks are not waited
            for). The launchers' entry points set it; callers inside a
            larger program keep the default. Defaults to False.

    Returns:
        Any: What ``main`` returned.
    """
    show_traceback = os.environ.get('MIL_SEG_TRACEBACK') == '1'
    try:
        result = main()
        if release_process_group() and exit_distributed:
            exit_without_finalization(0)
        return result
    except UserConfigError as error:
        if show_traceback:
            raise
        message = str(error)
    except KeyError as error:
        message = _registry_error(error)
        if message is None or show_traceback:
            raise
    except FileNotFoundError as error:
        # Files named by the config or the command line (checkpoints,
        # teacher weights, annotation lists) that are not there.
        if show_traceback:
            raise
        message = str(error)
    except ValueError as error:
        # The package's own checks of configs and data (prior length, label
        # range, queue size, ...) name the fix; errors from elsewhere may be
        # bugs and keep their traceback.
        if show_traceback or not _raised_by_this_package(error):
            raise
        message = ' '.join(str(error).split())
    print(f'error: {message}', file=sys.stderr)
    if exit_distributed and _process_group_initialized():
        exit_without_finalization(2)
    sys.exit(2)
