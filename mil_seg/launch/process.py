"""How a launcher's process starts its process group and ends: a released
process group after a normal end, one ``error:`` line for a user error (on
one rank, however many raise it, and no traceback on the others), and an
exit that PyTorch's background threads cannot abort."""
import atexit
import datetime
import os
import sys
import threading
from typing import Any, Callable, NoReturn, Optional

from ..errors import SameOnEveryRankError, UserError


def _process_group_initialized() -> bool:
    import torch.distributed as torch_dist
    return torch_dist.is_available() and torch_dist.is_initialized()


def _rank() -> int:
    """This process's rank: the process group's, else (before it starts)
    the ``RANK`` that torchrun, or :mod:`.slurm` for ``srun``, set."""
    import torch.distributed as torch_dist
    if _process_group_initialized():
        return torch_dist.get_rank()
    try:
        return int(os.environ.get('RANK', 0))
    except ValueError:
        return 0


def init_process_group(cfg) -> bool:
    """Start a distributed run's process group now, as the Runner would.

    The launchers start it before their checks (see
    :func:`~mil_seg.launch.check_files`), so the ranks can agree on a
    user error before anything is built; the Runner then finds it started.
    Same calls and arguments as ``Runner.setup_env``: mmengine's
    ``set_multi_processing`` with ``env_cfg.mp_cfg`` and ``init_dist``
    with ``env_cfg.dist_cfg``.

    Args:
        cfg (mmengine.Config): The loaded config (``launcher`` set).

    Returns:
        bool: Whether the run is distributed.
    """
    from mmengine.dist import init_dist
    from mmengine.utils.dl_utils import set_multi_processing
    if cfg.get('launcher', 'none') == 'none':
        return False
    if not _process_group_initialized():
        env_cfg = cfg.get('env_cfg') or {}
        set_multi_processing(**(env_cfg.get('mp_cfg') or {}),
                             distributed=True)
        init_dist(cfg.launcher, **dict(env_cfg.get('dist_cfg') or {}))
    return True


#: Store key of the first user error of a distributed run.
_ERROR_KEY = 'mil_seg/user_error'
#: How long a rank that raised a user error keeps the store up for the
#: others to find it (they only look once their own collective fails).
_ERROR_WAIT = datetime.timedelta(seconds=30)


def _default_store():
    from torch.distributed import distributed_c10d
    try:
        return distributed_c10d._get_default_store()
    except (AttributeError, RuntimeError, ValueError):
        return None


def _leave_store(store, rank: int, world_size: int) -> None:
    """Say that this rank is done with the store; rank 0, whose process
    may host it (``env://`` start-up, as under ``srun``), keeps it up until
    every other rank is done or :data:`_ERROR_WAIT` has passed."""
    try:
        store.set(f'{_ERROR_KEY}/left/{rank}', '1')
        if rank == 0:
            store.wait([f'{_ERROR_KEY}/left/{other}'
                        for other in range(1, world_size)], _ERROR_WAIT)
    except Exception:
        pass  # ranks already gone, or stuck: the launcher ends them


def _share_user_error(message: str) -> bool:
    """Tell the other ranks of a distributed run that this rank ends with
    the user error ``message``, and let the ones still waiting for it go.

    The error goes into the process group's store; then this rank leaves
    the process group, so a rank blocked in a collective with it fails
    there at once and finds the error (:func:`_peer_user_error`). The store
    is kept until every other rank has seen the error or
    :data:`_ERROR_WAIT` has passed.

    Args:
        message (str): The error's one line.

    Returns:
        bool: Whether this rank prints ``message``: False where another
        rank already reported the same one.
    """
    import torch.distributed as torch_dist
    store = _default_store()
    if store is None:
        return True
    rank, world_size = torch_dist.get_rank(), torch_dist.get_world_size()
    if world_size == 1:
        return True  # nobody to tell; the group is left as it is
    mine = f'{rank}\n{message}'
    try:
        first = store.compare_set(_ERROR_KEY, '', mine)
    except Exception:  # a store that is gone: nothing to share
        return True
    first = first.decode() if isinstance(first, bytes) else first
    show = first == mine or first.partition('\n')[2] != message
    try:
        store.set(f'{_ERROR_KEY}/seen/{rank}', '1')
        torch_dist.destroy_process_group()
        store.wait([f'{_ERROR_KEY}/seen/{other}'
                    for other in range(world_size) if other != rank],
                   _ERROR_WAIT)
    except Exception:
        pass  # ranks already gone, or stuck: the launcher ends them
    _leave_store(store, rank, world_size)
    return show


def _peer_user_error() -> bool:
    """Whether this rank failed because another rank ended with a user
    error (:func:`_share_user_error`); then it says so to that rank."""
    import torch.distributed as torch_dist
    store = _default_store()
    if store is None:
        return False
    rank, world_size = torch_dist.get_rank(), torch_dist.get_world_size()
    try:
        if not store.check([_ERROR_KEY]):
            return False
        store.set(f'{_ERROR_KEY}/seen/{rank}', '1')
    except Exception:  # the store is gone with the rank that held it
        return False
    _leave_store(store, rank, world_size)
    return True


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


def _registry_error(error: KeyError) -> Optional[str]:
    """The fix for mmengine's "not in the registry" error, else None."""
    message = str(error.args[0]) if error.args else ''
    if 'registry' in message and 'is not in the' in message:
        return (f'{message.split(". ")[0]}; check the `type` in the config '
                'and that `custom_imports` imports the package defining it')
    return None


def _without_worker_traceback(error: BaseException) -> str:
    """The message of ``error``; for one re-raised from a DataLoader worker,
    the worker's original message.

    PyTorch re-raises a worker's error in the main process as the same type,
    with the worker's whole traceback as its message; the message the user
    needs is the end of that traceback's last line.
    """
    message = str(error)
    name = type(error).__name__
    head, found, traceback_text = message.partition('\nOriginal Traceback')
    if not found or not head.startswith(f'Caught {name} '):
        return message
    _, found, original = traceback_text.rpartition(f'{name}: ')
    return original if found else message


def _user_message(error: BaseException) -> str:
    """The message of a user error as one line."""
    return ' '.join(_without_worker_traceback(error).split())


def run_guarded(main: Callable[[], Any],
                exit_distributed: bool = False) -> Any:
    """Run a launcher's ``main``; user errors end with one line on stderr.

    A :class:`~mil_seg.errors.UserError` (the package's checks of
    configs, data and arguments raise it) is printed as ``error: ...``, its
    whitespace collapsed to one line (a
    :class:`~mil_seg.errors.SameOnEveryRankError` by rank 0 only),
    and the process exits with status 2;
    so are the user errors of other libraries: mmengine's "not in the
    registry" ``KeyError`` (an unknown ``type``) and a
    ``FileNotFoundError`` (a file named by the config or the command line).
    Anything else, a plain ``ValueError`` included, is a bug and keeps its
    traceback. In a distributed run a user error that only some ranks
    raise (e.g. one of rank 0's evaluation) is shared through the process
    group's store: the ranks that fail because of it (their collective
    with the failed rank breaks) exit with status 2 without a traceback,
    and ranks raising the same message print it once. Set
    ``MIL_SEG_TRACEBACK=1`` to see tracebacks for user errors too. A run that ends normally destroys its process group (see
    :func:`release_process_group`).

    Args:
        main (Callable[[], Any]): The launcher's work.
        exit_distributed (bool): In a distributed run, leave the process
            through :func:`exit_without_finalization`: with status 0 after
            a normal end instead of returning, with status 2 after a user
            error (no barrier with ranks that may never come: the group is
            kept in one process; with several, left after the error is
            shared, waiting at most 30 s for the others to see it). The
            launchers' entry points set it; callers inside a larger program
            keep the default. Defaults to False.

    Returns:
        Any: What ``main`` returned.
    """
    show_traceback = os.environ.get('MIL_SEG_TRACEBACK') == '1'
    try:
        result = main()
        if release_process_group() and exit_distributed:
            exit_without_finalization(0)
        return result
    except UserError as error:
        if show_traceback:
            raise
        message = _user_message(error)
        same_everywhere = isinstance(error, SameOnEveryRankError)
    except KeyError as error:
        message = _registry_error(error)
        if message is None or show_traceback:
            raise
        same_everywhere = False
    except FileNotFoundError as error:
        # Files named by the config or the command line (checkpoints,
        # annotation lists) that are not there.
        if show_traceback:
            raise
        message = _user_message(error)
        same_everywhere = False
    except Exception:
        # A rank whose collective broke because another rank ended with a
        # user error: that rank printed it.
        if show_traceback or not (_process_group_initialized()
                                  and _peer_user_error()):
            raise
        message, same_everywhere = None, True
    distributed = _process_group_initialized()
    if same_everywhere:
        if _rank() != 0:
            message = None  # rank 0 prints it
    elif distributed and not _share_user_error(message):
        message = None  # another rank printed it
    if message is not None:
        print(f'error: {message}', file=sys.stderr)
    if exit_distributed and distributed:
        exit_without_finalization(2)
    sys.exit(2)
