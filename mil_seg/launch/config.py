"""Config preparation shared by the launchers: arguments, loading with the
command-line overrides, and the changes a launcher makes to a config."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from ..errors import MissingFileError, UserError
from .slurm import use_slurm_environment

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
SUPPORTED_SCOPES = ('mmseg', 'mmpretrain')


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments shared by the train and test launchers.

    Args:
        parser (argparse.ArgumentParser): The launcher's parser, changed in
            place.
    """
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
        Config: The config, with ``launcher`` and ``work_dir`` set (a
        Slurm job's ranks mapped to torchrun's environment, see
        :mod:`.slurm`).

    Raises:
        MissingFileError: If the config or one of its ``_base_`` files is
            missing.
        UserError: If the config imports a module that cannot be imported,
            its ``default_scope`` is not supported, or ``--launcher slurm``
            runs outside a Slurm job's environment.
    """
    # The whole package, before the config is parsed: its compatibility
    # layer resolves mil_seg:: bases (an editable install) and the fork's
    # mmseg:: / mmpretrain:: bases (mil_seg.launch alone leaves it light).
    from .. import compat  # noqa: F401
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if not osp.isfile(args.config):
        raise MissingFileError(f'config file not found: {args.config}')
    try:
        cfg = Config.fromfile(args.config)
    except (ImportError, ModuleNotFoundError) as error:
        raise UserError(
            f'config {args.config} imports a module that cannot be '
            f'imported ({error}); check `custom_imports` and that the '
            'package is installed') from error
    except FileNotFoundError as error:
        raise MissingFileError(
            f'config {args.config} refers to a missing file: {error}; check '
            'its `_base_` entries') from error
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    scope = cfg.get('default_scope')
    if scope not in SUPPORTED_SCOPES:
        raise UserError(
            f'config {args.config} has default_scope={scope!r}; mil_seg '
            f'launchers run configs with default_scope in {SUPPORTED_SCOPES}')
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.launcher == 'slurm':
        use_slurm_environment(cfg)
    if args.launcher != 'none':
        _use_gloo_without_cuda(cfg)
    return cfg


def load_evaluation_config(args: argparse.Namespace) -> Config:
    """Config of a launcher that evaluates ``args.checkpoint``.

    Args:
        args (argparse.Namespace): Parsed arguments with ``checkpoint``.

    Returns:
        Config: :func:`load_config`'s, with ``load_from`` set (the
        checkpoint and the files of the test run are checked by
        :func:`~mil_seg.launch.check_files` with
        :data:`~mil_seg.launch.TEST_SECTIONS`).
    """
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    return cfg


def _use_gloo_without_cuda(cfg: Config) -> None:
    """Without CUDA, run a distributed config over gloo with the CPU DDP
    wrapper (see :mod:`mil_seg.compat.cpu_distributed`)."""
    import torch

    from ..compat import register_cpu_ddp_wrapper
    if torch.cuda.is_available():
        return
    # Assigned back: a ConfigDict's setdefault stores a copy of the default.
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = env_cfg.get('dist_cfg') or {}
    dist_cfg['backend'] = 'gloo'
    env_cfg['dist_cfg'] = dist_cfg
    cfg.env_cfg = env_cfg
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
        UserError: Without an accelerator: mmengine's ``AmpOptimWrapper``
            needs a GPU (or NPU, MLU, MUSA).
    """
    from mmengine.device import get_device
    if get_device() == 'cpu':
        raise UserError(
            '--amp needs a GPU (mmengine\'s AmpOptimWrapper runs on gpu, '
            'npu, mlu or musa) and none is visible: train without --amp on '
            'the CPU')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def _add_custom_hook(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to ``custom_hooks`` unless listed."""
    hooks = list(cfg.get('custom_hooks') or [])
    names = (hook_type, f'mmengine.{hook_type}')
    if any(hook.get('type') in names for hook in hooks
           if isinstance(hook, dict)):
        return
    hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def add_random_state_hook(cfg: Config) -> None:
    """Add :class:`~mil_seg.engine.RandomStateHook` to ``custom_hooks``.

    A resumed run then continues the random streams of the interrupted run
    (see the hook). Nothing is added where the config lists the hook already
    or sets ``resume_random_state=False``.

    Args:
        cfg (Config): The training config, changed in place.
    """
    if cfg.get('resume_random_state', True):
        _add_custom_hook(cfg, 'RandomStateHook')


def add_unused_parameter_hook(cfg: Config) -> None:
    """Add :class:`~mil_seg.engine.UnusedParameterHook` to ``custom_hooks``.

    A model that leaves a trainable parameter without gradient then stops
    at the end of the first iteration with one error naming it, instead of
    DDP's error at the second. Nothing is added where the config lists the
    hook already or sets ``check_unused_parameters=False``.

    Args:
        cfg (Config): The training config, changed in place.
    """
    if cfg.get('check_unused_parameters', True):
        _add_custom_hook(cfg, 'UnusedParameterHook')
