"""How a launcher's process ends: a released process group after a normal
end, one ``error:`` line for a user error, and an exit that PyTorch's
background threads cannot abort."""
import atexit
import os
import sys
import threading
from typing import Any, Callable, NoReturn, Optional

from ..errors import SameOnEveryRankError, UserError


def _process_group_initialized() -> bool:
    import torch.distributed as torch_dist
    return torch_dist.is_available() and torch_dist.is_initialized()


def _rank() -> int:
    import torch.distributed as torch_dist
    return torch_dist.get_rank() if _process_group_initialized() else 0


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
    traceback. Set ``MIL_SEG_TRACEBACK=1`` to see tracebacks for user
    errors too. A run that ends normally destroys its process group (see
    :func:`release_process_group`).

    Args:
        main (Callable[[], Any]): The launcher's work.
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
    except UserError as error:
        if show_traceback:
            raise
        message = _user_message(error)
        if isinstance(error, SameOnEveryRankError) and _rank() != 0:
            message = None  # rank 0 prints it
    except KeyError as error:
        message = _registry_error(error)
        if message is None or show_traceback:
            raise
    except FileNotFoundError as error:
        # Files named by the config or the command line (checkpoints,
        # annotation lists) that are not there.
        if show_traceback:
            raise
        message = _user_message(error)
    if message is not None:
        print(f'error: {message}', file=sys.stderr)
    if exit_distributed and _process_group_initialized():
        exit_without_finalization(2)
    sys.exit(2)
