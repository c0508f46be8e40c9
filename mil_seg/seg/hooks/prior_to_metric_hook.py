"""Hand the model's class-prior counts to the long-tail metric."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class PriorToMetricHook(Hook):
    """Copy the counts of the model's ``ClassPrior`` into the metrics.

    Before every validation and test run, the hook finds the model's
    :class:`~mil_seg.gml.ClassPrior` (the submodule named ``prior_name``,
    or else the first ``ClassPrior`` among the model's modules) and calls
    ``set_class_counts(counts)`` on each metric of the evaluator that has
    that method (:class:`LongTailIoUMetric`), with the prior's image counts
    too when it has them (a prior from a file that holds them; an online
    prior counts pixels only). This is how an *online* prior, accumulated
    during training and saved in the checkpoint, defines the head / body /
    tail groups, also when testing a checkpoint without the training data.
    A metric with its own ``prior`` is left alone unless ``overwrite=True``.

    Example::

        custom_hooks = [dict(type='PriorToMetricHook')]
        val_evaluator = dict(type='LongTailIoUMetric', prior=None)

    Args:
        prior_name (str, optional): Dotted name of the prior submodule in
            the (unwrapped) model, e.g. 'decode_head.prior'. Defaults to
            None (search by type).
        overwrite (bool): Whether to replace the prior of metrics that set
            one themselves. Defaults to False.
    """

    priority = 'NORMAL'

    def __init__(self,
                 prior_name: Optional[str] = None,
                 overwrite: bool = False) -> None:
        self.prior_name = prior_name
        self.overwrite = overwrite

    def _find_prior(self, model):
        from mil_seg.gml import ClassPrior
        if is_model_wrapper(model):
            model = model.module
        if self.prior_name is not None:
            return self.prior_name, model.get_submodule(self.prior_name)
        for name, module in model.named_modules():
            if isinstance(module, ClassPrior):
                return name, module
        return None, None

    def _hand_over(self, runner, evaluator) -> None:
        name, prior = self._find_prior(runner.model)
        if prior is None:
            print_log(
                'PriorToMetricHook: the model has no ClassPrior; the metrics '
                'keep their own prior.', 'current', level=30)
            return
        counts = prior.counts.detach().cpu().numpy()
        extra = dict()
        if prior.has_image_counts:
            extra['image_counts'] = prior.image_counts.detach().cpu().numpy()
        for metric in getattr(evaluator, 'metrics', []):
            if not hasattr(metric, 'set_class_counts'):
                continue
            if self.overwrite or getattr(metric, 'prior', None) is None:
                metric.set_class_counts(counts, f'model.{name}', **extra)

    def before_val(self, runner) -> None:
        """Hand the counts to the validation metrics."""
        self._hand_over(runner, runner.val_loop.evaluator)

    def before_test(self, runner) -> None:
        """Hand the counts to the test metrics."""
        self._hand_over(runner, runner.test_loop.evaluator)
