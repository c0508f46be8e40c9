"""Push the training class counts to every module and metric that needs
them."""
from typing import List, Optional, Tuple

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...errors import UserError
from ...gml.prior import PriorConfig, build_class_prior


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Give the training class counts to every consumer, on both toolboxes.

    One direction: the counts come from a prior file or from the training
    data, and go to every consumer that has none, in the model (a prior and
    the queue that follows it, a loss) and in the validation and test
    evaluators (the long-tail metrics). A consumer exposes
    ``requires_class_counts`` (True while it has no counts: none in the
    config, none from a checkpoint, and it does not count its training
    labels itself, as an online prior does) and
    ``set_class_counts(counts, *, image_counts=None, source=None)``. A model
    module that takes the counts is the only one filled in its subtree (a
    head fills its own prior). Consumers are filled before training,
    validation and testing; the counts are computed once, when a consumer
    first needs them.

    Where the counts come from:

    - ``prior``: anything :func:`~mil_seg.gml.prior.build_class_prior`
      accepts (a shipped prior's name, a prior file, a ``ClassPrior``
      dict): its counts and, when it has them, its image counts;
    - else the training data, ``dataset`` or the runner's training
      dataset (built from ``train_dataloader.dataset`` in a run without a
      training loop): for segmentation (default scope ``mmseg``) the
      labelled pixels per class and the images containing each class,
      counted over the label maps
      (:func:`~mil_seg.seg.datasets.compute_class_counts`; give ``prior``
      to skip that pass on a large dataset); for classification the images
      per class (:func:`~mil_seg.cls.datasets.get_class_counts`), which are
      also its image counts.

    State the model takes (prior counts, the queue's layout) lives in
    buffers: a checkpoint carries it, and testing a checkpoint does not
    need the training data for the model.

    Example::

        custom_hooks = [dict(type='ClassCountsHook')]  # the training set
        custom_hooks = [dict(type='ClassCountsHook', prior='camvid')]

    Args:
        prior (str | dict | ClassPrior, optional): The prior whose counts to
            hand over. Defaults to None (the training data's).
        dataset (dict, optional): Config of the dataset to count. Defaults
            to None (the training dataset).
        ignore_index (int): Label not counted in segmentation label maps.
            Defaults to 255.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 prior: PriorConfig = None,
                 dataset: Optional[dict] = None,
                 ignore_index: int = 255) -> None:
        if prior is not None and dataset is not None:
            raise UserError('ClassCountsHook takes its counts from prior or '
                            'from dataset, not both: drop one.')
        self.prior = prior
        self.dataset = dataset
        self.ignore_index = ignore_index
        self._counts: Optional[Tuple[np.ndarray, Optional[np.ndarray],
                                     str]] = None

    # ------------------------------------------------------------ sources
    def class_counts(
            self, runner) -> Tuple[np.ndarray, Optional[np.ndarray], str]:
        """The counts, image counts (None if unknown) and their source.

        Args:
            runner (Runner): The runner (its training dataset or config).

        Returns:
            tuple: ``counts`` and ``image_counts`` (float64 arrays, (C, ))
            and a description of where they come from.
        """
        if self._counts is None:
            if self.prior is not None:
                prior = build_class_prior(self.prior)
                images = prior.image_counts.numpy() \
                    if prior.has_image_counts else None
                name = self.prior if isinstance(self.prior, str) else \
                    (self.prior.get('file') if isinstance(self.prior, dict)
                     else None) or type(self.prior).__name__
                self._counts = (prior.counts.numpy(), images,
                                f'prior {name}')
            else:
                self._counts = self._data_counts(runner)
            counts, images, source = self._counts
            print_log(
                f'ClassCountsHook: {len(counts)} class counts from {source} '
                f'(max {counts.max():g}, min {counts.min():g}'
                f'{"" if images is None else ", with image counts"})',
                logger='current')
        return self._counts

    def _data_counts(
            self, runner) -> Tuple[np.ndarray, Optional[np.ndarray], str]:
        """Counts of the training data (see the class docstring)."""
        cfg = self.dataset
        if cfg is None:
            cfg = (runner.cfg.get('train_dataloader') or {}).get('dataset')
        if self._scope(runner) == 'mmseg':
            from mil_seg.seg.datasets import compute_class_counts
            if cfg is None:
                raise self._no_data()
            stats = compute_class_counts(
                cfg, ignore_index=self.ignore_index, show_progress=False)
            return (stats['pixel_counts'].astype(np.float64),
                    stats['image_counts'].astype(np.float64),
                    f'{stats["num_samples"]} training label maps')
        from mmpretrain.registry import DATASETS

        from mil_seg.cls.datasets import get_class_counts
        loop = getattr(runner, '_train_loop', None)
        if self.dataset is None and loop is not None and not isinstance(
                loop, dict):
            dataset = runner.train_dataloader.dataset
        elif cfg is not None:
            dataset = DATASETS.build(cfg)
        else:
            raise self._no_data()
        counts = np.asarray(get_class_counts(dataset), dtype=np.float64)
        return counts, counts, f'{int(counts.sum())} training images'

    @staticmethod
    def _scope(runner) -> Optional[str]:
        cfg = getattr(runner, 'cfg', None) or {}
        return cfg.get('default_scope')

    @staticmethod
    def _no_data() -> UserError:
        return UserError(
            'ClassCountsHook found no training dataset: give it '
            "prior='<prior file>' or dataset=dict(...), or set the counts in "
            'the config (a prior of the model, the metric).')

    # ---------------------------------------------------------- consumers
    def _fill(self, consumer, runner) -> None:
        counts, images, source = self.class_counts(runner)
        consumer.set_class_counts(
            counts.copy(),
            image_counts=None if images is None else images.copy(),
            source=source)

    def _fill_model(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        filled: List[str] = []
        for name, module in model.named_modules():
            if any(name.startswith(p + '.') for p in filled):
                continue  # its parent module has set it
            if getattr(module, 'requires_class_counts', False):
                self._fill(module, runner)
                filled.append(name)
        if filled:
            print_log(
                f'ClassCountsHook: set the class counts of {filled}',
                logger='current')

    def _fill_metrics(self, runner, loop_name: str) -> None:
        loop = getattr(runner, f'_{loop_name}_loop', None)
        if loop is None or isinstance(loop, dict):
            return
        for metric in getattr(loop.evaluator, 'metrics', []):
            if getattr(metric, 'requires_class_counts', False):
                self._fill(metric, runner)

    def before_train(self, runner) -> None:
        """Fill the model and the validation metrics."""
        self._fill_model(runner)
        self._fill_metrics(runner, 'val')

    def before_val(self, runner) -> None:
        """Fill the model and the validation metrics."""
        self._fill_model(runner)
        self._fill_metrics(runner, 'val')

    def before_test(self, runner) -> None:
        """Fill the model and the test metrics."""
        self._fill_model(runner)
        self._fill_metrics(runner, 'test')
