"""Stop a run whose model leaves trainable parameters without gradient."""
from typing import Any, List, Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...errors import SameOnEveryRankError


def unused_parameters_allowed(runner) -> bool:
    """Whether the run declares unused parameters as expected: its config
    sets ``model_wrapper_cfg.find_unused_parameters=True`` (or the model is
    already wrapped that way)."""
    if getattr(runner.model, 'find_unused_parameters', False):
        return True
    wrapper_cfg = runner.cfg.get('model_wrapper_cfg') or {}
    return bool(wrapper_cfg.get('find_unused_parameters', False))


@HOOKS.register_module()
class UnusedParameterHook(Hook):
    """Check at the end of the first training iteration that every
    trainable parameter received a gradient.

    PyTorch's ``DistributedDataParallel`` with its default
    ``find_unused_parameters=False`` (mmengine's default too) needs every
    parameter with ``requires_grad`` to take part in the loss of every
    iteration. When one does not, each rank stops at the *second*
    iteration with ``Expected to have finished reduction in the prior
    iteration``, which names no parameter. This hook records, through
    PyTorch's post-accumulate-grad hooks, which trainable parameters
    receive a gradient during the first iteration of a run (of a resumed
    run too), takes the union over all ranks, and raises
    :class:`~mil_seg.launch.SameOnEveryRankError` naming those that did
    not, in one process as well as in several, so a config that would fail
    on several GPUs fails on one already.

    Nothing is checked where the config sets
    ``model_wrapper_cfg=dict(find_unused_parameters=True)``: there the user
    declares parameters that some iterations leave unused. ``tools/train.py``
    adds this hook to every config that does not list it; set
    ``check_unused_parameters=False`` in the config to go without.

    Args:
        max_names (int): Most parameter names in the error message; the
            rest are counted. Defaults to 20.
    """

    priority = 'VERY_HIGH'

    def __init__(self, max_names: int = 20) -> None:
        self.max_names = max_names
        self._names: List[str] = []
        self._received: Optional[torch.Tensor] = None
        self._handles: list = []
        self._done = False

    @staticmethod
    def _module(runner) -> torch.nn.Module:
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        self._done = unused_parameters_allowed(runner)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Any = None) -> None:
        if self._done or self._handles:
            return
        trainable = [(name, param)
                     for name, param in self._module(runner).named_parameters()
                     if param.requires_grad]
        self._names = [name for name, _ in trainable]
        self._received = torch.zeros(len(trainable), dtype=torch.int64)
        for index, (_, param) in enumerate(trainable):
            self._handles.append(
                param.register_post_accumulate_grad_hook(
                    self._recorder(index)))

    def _recorder(self, index: int):

        def record(param: torch.Tensor) -> None:
            self._received[index] = 1

        return record

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        if self._done or not self._handles:
            return
        for handle in self._handles:
            handle.remove()
        self._handles, self._done = [], True
        received = self._received
        if dist.get_world_size() > 1:
            # DDP needs a gradient on every rank: a parameter that one
            # rank used and another did not fails as well.
            dist.all_reduce(received, op='min')
        unused = [
            name for name, got in zip(self._names, received.tolist())
            if not got
        ]
        if unused:
            raise SameOnEveryRankError(self._message(unused))

    def _message(self, unused: List[str]) -> str:
        shown = ', '.join(unused[:self.max_names])
        more = len(unused) - self.max_names
        if more > 0:
            shown += f' and {more} more'
        return (
            f'{len(unused)} trainable parameter(s) received no gradient in '
            f'the first training iteration: {shown}. Multi-process training '
            '(DistributedDataParallel with find_unused_parameters=False, the '
            'default) stops on them at the second iteration. Freeze them '
            '(requires_grad=False), remove the modules that leave them out '
            'of the loss, or, if some iterations use them and others do '
            'not, set model_wrapper_cfg=dict(find_unused_parameters=True) '
            '(slower)')
