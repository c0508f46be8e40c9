"""Save the random generators in checkpoints, restore them on resume."""
import random
from typing import Any, Dict, List, Optional

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

#: Key of the random states in a checkpoint.
CHECKPOINT_KEY = 'random_states'


def get_random_states() -> Dict[str, Any]:
    """The states of this process's python, numpy and torch generators.

    Returns:
        dict: ``python``, ``numpy``, ``torch`` (CPU) and, where CUDA is
        initialised, ``cuda`` (one state per visible device).
    """
    states = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: Dict[str, Any]) -> None:
    """Restore states returned by :func:`get_random_states`.

    Args:
        states (dict): The generator states; missing entries are left as
            they are.
    """
    if 'python' in states:
        version, internal, gauss = states['python']
        # checkpoints store tuples as lists after some round trips
        random.setstate((version, tuple(internal), gauss))
    if 'numpy' in states:
        np.random.set_state(tuple(states['numpy']))
    if 'torch' in states:
        torch.set_rng_state(states['torch'].cpu())
    if 'cuda' in states and torch.cuda.is_available():
        cuda_states = [state.cpu() for state in states['cuda']]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)


class _RestoreBeforeNext:
    """Iterator proxy: after ``skip`` batches, restore the random states,
    then hand the loop back its own iterator.

    ``IterBasedTrainLoop`` re-reads the batches a resumed run has already
    trained on; with ``num_workers=0`` their transforms draw from the main
    process's generators, so the states are restored only after that skip,
    right before the first new batch is loaded.
    """

    def __init__(self, loop, skip: int, states: Dict[str, Any]) -> None:
        self._loop = loop
        self._iterator = loop.dataloader_iterator
        self._skip = skip
        self._states = states

    def __iter__(self):
        return self

    def __next__(self):
        if self._skip > 0:
            self._skip -= 1
            return next(self._iterator)
        set_random_states(self._states)
        self._loop.dataloader_iterator = self._iterator
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


class _SkipTrainedBatches:
    """Dataloader proxy for the epoch in which an ``EpochBasedTrainLoop``
    resumes from a checkpoint saved mid-epoch (``CheckpointHook`` with
    ``by_epoch=False``).

    mmengine resumes such a run at the start of that epoch and trains its
    first ``skip`` batches a second time. Iterating this proxy draws the
    epoch's batches as the interrupted run did (same sampler epoch), skips
    the ``skip`` already trained on, restores the random states and hands
    the loop the rest; later epochs iterate the dataloader itself.
    """

    def __init__(self, loop, skip: int, states: Dict[str, Any]) -> None:
        self._loop = loop
        self._dataloader = loop.dataloader
        self._skip = skip
        self._states = states

    def __iter__(self):
        self._loop.dataloader = self._dataloader
        iterator = iter(self._dataloader)
        for _ in range(self._skip):
            next(iterator)
        set_random_states(self._states)
        return iterator

    def __len__(self) -> int:
        return len(self._dataloader)

    def __getattr__(self, name: str):
        return getattr(self._dataloader, name)


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make ``--resume`` continue the random streams of the interrupted run.

    mmengine re-seeds a resumed run but does not restore the generators, so
    a resumed run draws different random numbers (anchor sampling, dropout,
    data augmentation) than the uninterrupted run would have. This hook
    writes the python, numpy and torch (CPU and CUDA) generator states of
    every rank into each checkpoint (``checkpoint['random_states']``, one
    entry per rank) and, on resume, restores each rank's states just before
    the first new batch is loaded: after ``IterBasedTrainLoop`` has skipped
    the batches already trained on, or at the start of training for
    ``EpochBasedTrainLoop``. Loading weights with ``load_from`` (no resume)
    restores nothing.

    An ``EpochBasedTrainLoop`` resumed from a checkpoint saved mid-epoch
    (``CheckpointHook(by_epoch=False)``) would train that epoch's first
    batches again (mmengine restarts the epoch); this hook makes it skip
    them, so it continues with the batch the interrupted run stopped
    before. With ``num_workers > 0`` the workers' seeds of that epoch are
    drawn anew, so their augmentations differ; with ``num_workers=0`` the
    resumed run equals the uninterrupted one.

    Validation and testing during training do not move the training
    generators: their states are saved before each validation and put back
    after it, so a run's random numbers do not depend on how often (or
    whether) it validates. A checkpoint saved during a validation
    (``CheckpointHook(save_best=...)`` re-saves the last checkpoint after a
    new best score) holds those saved states, not the validation's.

    With several processes, the states of all ranks are gathered when a
    :class:`~mmengine.hooks.CheckpointHook` is about to save; resuming with
    a different number of processes gives every rank the states of rank 0
    (with a warning). ``tools/train.py`` adds this hook to every config that
    does not list it; set ``resume_random_state=False`` in the config to
    keep mmengine's behaviour.

    Args:
        restore_after_val (bool): Put back the generator states after each
            validation. Defaults to True.
    """

    # Before CheckpointHook (VERY_LOW): the states are gathered first.
    priority = 'LOW'

    def __init__(self, restore_after_val: bool = True) -> None:
        self.restore_after_val = restore_after_val
        self._gathered: Optional[List[Dict[str, Any]]] = None
        self._loaded: Optional[Dict[str, Any]] = None
        self._before_val: Optional[Dict[str, Any]] = None
        self._val_states: Optional[List[Dict[str, Any]]] = None

    # ------------------------------------------------------------ saving
    def _checkpoint_due(self, runner, by_epoch: bool) -> bool:
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or (hook.by_epoch !=
                                                        by_epoch):
                continue
            if by_epoch:
                due = hook.every_n_epochs(runner, hook.interval,
                                          hook.save_begin) or (
                                              hook.save_last and
                                              hook.is_last_train_epoch(runner))
            else:
                due = hook.every_n_train_iters(
                    runner, hook.interval, hook.save_begin) or (
                        hook.save_last and hook.is_last_train_iter(runner))
            if due:
                return True
        return False

    def _gather_if_due(self, runner, by_epoch: bool) -> None:
        if dist.get_world_size() > 1 and self._checkpoint_due(
                runner, by_epoch):
            # every rank takes part; only rank 0 writes the checkpoint
            self._gathered = dist.all_gather_object(get_random_states())

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        self._gather_if_due(runner, by_epoch=False)

    def after_train_epoch(self, runner) -> None:
        self._gather_if_due(runner, by_epoch=True)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._val_states is not None:
            # Saved during a validation (CheckpointHook with ``save_best``
            # re-saves the last checkpoint in ``after_val_epoch``): the
            # training continues from the states put back after it.
            states = self._val_states
        elif dist.get_world_size() > 1 and self._gathered is not None:
            states = self._gathered
            self._gathered = None
        else:
            states = [get_random_states()]
        checkpoint[CHECKPOINT_KEY] = states

    # --------------------------------------------------------- restoring
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get(CHECKPOINT_KEY)
        if not states:
            self._loaded = None
            return
        rank, world_size = dist.get_rank(), dist.get_world_size()
        if len(states) != world_size:
            print_log(
                f'the checkpoint holds the random states of {len(states)} '
                f'process(es), this run has {world_size}: every rank '
                'continues from the states of rank 0',
                logger='current',
                level=30)
            rank = 0
        self._loaded = states[rank]

    def before_train(self, runner) -> None:
        states, self._loaded = self._loaded, None
        loop = runner.train_loop
        if states is None or (loop.iter == 0 and loop.epoch == 0):
            return  # not a resume (load_from only loads weights)
        if hasattr(loop, 'dataloader_iterator'):
            # IterBasedTrainLoop: restore after it skips loop.iter batches
            loop.dataloader_iterator = _RestoreBeforeNext(
                loop, loop.iter, states)
        elif loop.iter > loop.epoch * len(loop.dataloader):
            # EpochBasedTrainLoop from a mid-epoch checkpoint
            loop.dataloader = _SkipTrainedBatches(
                loop, loop.iter - loop.epoch * len(loop.dataloader), states)
        else:
            set_random_states(states)
        print_log(
            f'random states restored from the checkpoint (iter {loop.iter})',
            logger='current')

    # -------------------------------------------------------- validation
    def before_val(self, runner) -> None:
        if self.restore_after_val:
            self._before_val = get_random_states()
            # what a checkpoint saved during this validation holds
            self._val_states = dist.all_gather_object(self._before_val) \
                if dist.get_world_size() > 1 else [self._before_val]

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_random_states(self._before_val)
            self._before_val = None
        self._val_states = None
