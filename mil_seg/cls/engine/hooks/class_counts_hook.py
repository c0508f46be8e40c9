"""Fill class priors and long-tail metrics from the training dataset."""
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Give the training set's per-class counts to whatever needs them.

    Modules (in the model) and metrics (in the evaluators) that expose
    ``requires_class_counts`` (True while they have no counts) and
    ``set_class_counts(counts)`` are filled before training, validation or
    testing; modules already holding counts (from the config or a
    checkpoint) are left alone. The counts come from the runner's training
    dataset (``get_class_counts()``, ``metainfo['class_counts']`` or its
    labels, see :func:`mil_seg.cls.datasets.get_class_counts`); in a test
    run without a training loop, the ``train_dataloader.dataset`` config is
    built for that.

    Model state filled here (prior counts, queue layout) lives in buffers,
    so checkpoints carry it and testing never rebuilds the training set
    for the model.

    Args:
        dataset (dict, optional): Config of the dataset whose counts to use.
            Defaults to None (the training dataset).
    """

    priority = 'VERY_HIGH'

    def __init__(self, dataset: Optional[dict] = None) -> None:
        self.dataset = dataset
        self._counts: Optional[List[int]] = None

    def _get_counts(self, runner) -> List[int]:
        if self._counts is not None:
            return self._counts
        from mil_seg.cls.datasets import get_class_counts
        if self.dataset is not None:
            dataset = DATASETS.build(self.dataset)
        elif runner._train_loop is not None and not isinstance(
                runner._train_loop, dict):
            dataset = runner.train_dataloader.dataset
        else:
            cfg = runner.cfg.get('train_dataloader')
            if not cfg or 'dataset' not in cfg:
                raise RuntimeError(
                    'ClassCountsHook found no training dataset: give it '
                    'dataset=dict(...), or put the counts in the config.')
            dataset = DATASETS.build(cfg['dataset'])
        self._counts = [int(c) for c in get_class_counts(dataset)]
        print_log(
            f'ClassCountsHook: {len(self._counts)} classes, '
            f'{sum(self._counts)} training images, max {max(self._counts)} '
            f'min {min(self._counts)}',
            logger='current')
        return self._counts

    def _fill_model(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        filled = []
        for name, module in model.named_modules():
            if any(name.startswith(p + '.') for p in filled):
                continue  # its parent module already set it
            if getattr(module, 'requires_class_counts', False):
                module.set_class_counts(self._get_counts(runner))
                filled.append(name)
        if filled:
            print_log(
                f'ClassCountsHook: set the class counts of {filled}',
                logger='current')

    def _fill_metrics(self, runner, evaluator_name: str) -> None:
        loop = getattr(runner, f'_{evaluator_name}_loop', None)
        if loop is None or isinstance(loop, dict):
            return
        for metric in getattr(loop.evaluator, 'metrics', []):
            if getattr(metric, 'requires_class_counts', False):
                metric.set_class_counts(self._get_counts(runner))

    def before_train(self, runner) -> None:
        self._fill_model(runner)
        self._fill_metrics(runner, 'val')

    def before_val(self, runner) -> None:
        self._fill_model(runner)
        self._fill_metrics(runner, 'val')

    def before_test(self, runner) -> None:
        self._fill_model(runner)
        self._fill_metrics(runner, 'test')
