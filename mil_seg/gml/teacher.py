"""Loading a frozen stage-1 teacher, shared by classification and
segmentation."""
import logging
import os.path as osp
from typing import Iterable, List

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from ..errors import MissingFileError, UserError


def _show(items: List[str]) -> str:
    more = f' ... ({len(items)} in all)' if len(items) > 5 else ''
    return ', '.join(items[:5]) + more


def load_frozen_teacher(teacher: nn.Module,
                        checkpoint: str,
                        config_key: str = 'model.teacher',
                        strict_prefixes: Iterable[str] = ('backbone.',
                                                          'neck.')) -> None:
    """Load a teacher's weights strictly from a stage-1 checkpoint.

    Every parameter and buffer of ``teacher`` must be in the checkpoint with
    the same shape, and the checkpoint may hold no other entry under
    ``strict_prefixes`` (a teacher config whose backbone or neck differs
    from stage 1 would otherwise load silently). Other entries (a stage-1
    queue, an EMA copy, an auxiliary head) are ignored. ``module.``
    prefixes of wrapped models are stripped.

    Args:
        teacher (nn.Module): The teacher, built from its config.
        checkpoint (str): Path or URL of the stage-1 checkpoint.
        config_key (str): Config key named in error messages.
            Defaults to 'model.teacher'.
        strict_prefixes (Iterable[str]): Key prefixes whose extra entries
            are errors. Defaults to ('backbone.', 'neck.').

    Raises:
        MissingFileError: If a local checkpoint does not exist.
        UserError: If keys or shapes do not match the teacher config.
    """
    if teacher_file_missing(checkpoint):
        raise MissingFileError(
            f'teacher checkpoint {checkpoint} not found: train the stage-1 '
            f'(gml-teacher_*) config first, or set '
            f'{config_key}.checkpoint=PATH')
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    own = teacher.state_dict()
    missing = [k for k in own if k not in state]
    mismatched = [
        f'{k}: checkpoint {tuple(state[k].shape)} vs teacher '
        f'{tuple(own[k].shape)}' for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    unexpected = [
        k for k in state
        if k.startswith(tuple(strict_prefixes)) and k not in own
    ]
    if missing or mismatched or unexpected:
        problems = []
        if missing:
            problems.append(f'missing from the checkpoint: {_show(missing)}')
        if mismatched:
            problems.append(f'shape mismatch: {_show(mismatched)}')
        if unexpected:
            problems.append('in the checkpoint but not in the teacher: '
                            f'{_show(unexpected)}')
        raise UserError(
            f'The teacher checkpoint {checkpoint} does not match '
            f'{config_key} (' + '; '.join(problems) + f'). Make {config_key} '
            "the stage-1 config's model.")
    teacher.load_state_dict({k: state[k] for k in own}, strict=True)
    print_log(f'Loaded the frozen teacher from {checkpoint}', logger='current')


def teacher_file_missing(checkpoint: str) -> bool:
    """Whether ``checkpoint`` is a local path with no file behind it."""
    return '://' not in checkpoint and not osp.isfile(checkpoint)


def load_teacher_or_defer(teacher: nn.Module,
                          checkpoint: str,
                          loaded: torch.Tensor,
                          config_key: str = 'model.teacher',
                          strict_prefixes: Iterable[str] = ('backbone.',
                                                            'neck.')) -> None:
    """Load the teacher when its file exists, else leave it to a checkpoint.

    mmengine initialises a model's weights before it resumes, and a
    student checkpoint already holds its teacher together with the
    ``loaded`` flag, so a missing teacher file is only a warning here;
    :func:`require_loaded_teacher` stops a run that loads neither.

    Args:
        teacher (nn.Module): The teacher, built from its config.
        checkpoint (str): Path or URL of the stage-1 checkpoint.
        loaded (Tensor): The model's boolean ``teacher_loaded`` buffer, set
            to True once the teacher is loaded.
        config_key (str): Config key named in messages.
            Defaults to 'model.teacher'.
        strict_prefixes (Iterable[str]): See :func:`load_frozen_teacher`.
            Defaults to ('backbone.', 'neck.').
    """
    if teacher_file_missing(checkpoint):
        print_log(
            f'teacher checkpoint {checkpoint} not found: the teacher\'s '
            'weights must come from a resumed or loaded student checkpoint '
            '(--resume, load_from).',
            logger='current',
            level=logging.WARNING)
        return
    load_frozen_teacher(teacher, checkpoint, config_key, strict_prefixes)
    loaded.fill_(True)


def require_loaded_teacher(loaded: torch.Tensor,
                           checkpoint: str,
                           config_key: str = 'model.teacher') -> None:
    """Refuse to train with a teacher that no checkpoint filled.

    Args:
        loaded (Tensor): The model's ``teacher_loaded`` buffer.
        checkpoint (str): The configured stage-1 checkpoint.
        config_key (str): Config key named in the error.
            Defaults to 'model.teacher'.

    Raises:
        MissingFileError: If neither the teacher file nor a student
            checkpoint gave the teacher's weights.
    """
    if not bool(loaded):
        raise MissingFileError(
            f'teacher checkpoint {checkpoint} not found and no student '
            'checkpoint was resumed or loaded: train the stage-1 '
            f'(gml-teacher_*) config first, or set '
            f'{config_key}.checkpoint=PATH')
