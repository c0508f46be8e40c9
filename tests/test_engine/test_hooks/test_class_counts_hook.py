"""ClassCountsHook, the one way class counts travel: from the training data
or a prior file to every consumer (the model's prior and queue, a loss, the
long-tail metrics), on a segmentation and a classification runner."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

import mil_seg  # noqa: F401
from mil_seg.engine import ClassCountsHook
from mil_seg.gml import ClassPrior
from mil_seg.seg.evaluation import LongTailIoUMetric

from ...test_seg.metric_examples import PRIOR, evaluate, hand_example
from ...tool_runner import (CLS_CONFIGS, ROOT, cls_options,
                            small_seg_options)

DEMO_CE = osp.join(ROOT, 'configs', 'gml_seg',
                   'demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py')
CLS_LA = osp.join(CLS_CONFIGS, 'la_resnet32_1xb128-200e_cifar10lt-r100.py')


def with_options(path: str, options: list, work_dir) -> Config:
    """The config with ``--cfg-options`` (tests/tool_runner.py) applied."""
    cfg = Config.fromfile(path)
    assert options[0] == '--cfg-options'
    cfg.merge_from_dict({
        key: DictAction._parse_iterable(value)
        for key, value in (option.split('=', 1) for option in options[1:])
    })
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.default_hooks.checkpoint = None
    return cfg


def test_registered_for_both_toolboxes():
    from mmpretrain.registry import HOOKS as CLS_HOOKS
    from mmseg.registry import HOOKS as SEG_HOOKS
    assert SEG_HOOKS.get('ClassCountsHook') is ClassCountsHook
    assert CLS_HOOKS.get('ClassCountsHook') is ClassCountsHook
    assert SEG_HOOKS.get('PriorToMetricHook') is None  # one hook


def label_map_counts(root: str, num_classes: int):
    """Reference: pixels and images per class of the training label maps,
    read with PIL."""
    pixels = np.zeros(num_classes)
    images = np.zeros(num_classes)
    paths = sorted(glob.glob(osp.join(root, 'ann_dir', 'train', '*.png')))
    assert paths
    for path in paths:
        labels = np.asarray(Image.open(path)).ravel()
        hist = np.bincount(labels[labels < num_classes], minlength=num_classes)
        pixels += hist
        images += hist > 0
    return pixels, images


def test_segmentation_runner_counts_the_training_label_maps(
        synthetic_root, tmp_path, mmseg_scope):
    """Neither the loss (an empty logit-adjusted CE prior) nor the metric
    (no prior) has counts: the hook counts the training label maps and
    gives both the same counts, the metric also the image counts."""
    options = [
        option for option in small_seg_options(synthetic_root, 1)
        if not option.startswith('model.decode_head.')  # GML's settings
    ]
    cfg = with_options(DEMO_CE, options, tmp_path)
    cfg.train_cfg.val_interval = 1
    cfg.model.decode_head.loss_decode = dict(
        type='LogitAdjustedCELoss', num_classes=8)
    cfg.val_evaluator.prior = None
    cfg.custom_hooks = [dict(type='ClassCountsHook')]
    runner = Runner.from_cfg(cfg)
    loss = runner.model.decode_head.loss_decode
    metric = runner.val_loop.evaluator.metrics[0]
    assert loss.requires_class_counts and metric.requires_class_counts
    runner.train()

    pixels, images = label_map_counts(synthetic_root, 8)
    assert pixels.sum() > 0 and (images <= 8).all()
    # the generator's own prior file says the same
    with open(osp.join(synthetic_root, 'class_prior.json')) as f:
        assert json.load(f)['counts'] == pixels.tolist()
    assert loss.prior.counts.tolist() == pixels.tolist()
    assert loss.prior.image_counts.tolist() == images.tolist()
    assert not loss.requires_class_counts
    np.testing.assert_array_equal(metric._prior_counts, pixels)
    np.testing.assert_array_equal(metric._prior_image_counts, images)
    assert metric._prior_source == '8 training label maps'


@pytest.fixture
def mmpretrain_scope():
    """Build from MMPretrain's registries, whatever scope an earlier test
    left."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.fixture
def mmseg_scope():
    """Build from MMSegmentation's registries."""
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def test_classification_runner_counts_the_training_images(
        cls_folders, tmp_path, mmpretrain_scope):
    """The LA-CE classifier's loss and the LongTailAccuracy metric get the
    training images per class of the long-tailed subset."""
    cfg = with_options(CLS_LA, cls_options(cls_folders, 1), tmp_path)
    assert dict(type='ClassCountsHook') in cfg.custom_hooks
    runner = Runner.from_cfg(cfg)
    loss = runner.model.head.loss_module
    metric = runner.val_loop.evaluator.metrics[0]
    assert loss.requires_class_counts and metric.requires_class_counts
    runner.train()
    labels = runner.train_dataloader.dataset.get_gt_labels()
    reference = np.bincount(labels, minlength=10)
    assert reference[0] > reference[-1] > 0  # long-tailed
    assert loss.prior.counts.tolist() == reference.tolist()
    assert metric.class_counts.tolist() == reference.tolist()


def test_classification_queue_follows_the_filled_prior(mmpretrain_scope):
    """GMLClsHead takes the counts into its prior; its queue, uniform while
    the prior was empty, lays itself out from them at its first push."""
    from ...test_cls.cls_builders import COUNTS, build_classifier, head_cfg
    model = build_classifier(head=head_cfg(prior=None))
    head = model.head
    queue = head.contrast.queue
    assert head.requires_class_counts
    assert queue.slot_size.tolist() == [4, 4, 4, 4]  # 16 slots, uniform

    class Runner:  # what the hook reads of a runner without loops
        pass

    runner = Runner()
    runner.model = model
    hook = ClassCountsHook(prior=COUNTS)
    hook.before_train(runner)
    assert head.prior.counts.tolist() == COUNTS
    assert not head.requires_class_counts
    queue.push(torch.randn(2, queue.dim), torch.tensor([0, 3]))
    # 8 free slots by 40:20:10:5 (smoothed): 4.27, 2.13, 1.07, 0.53
    assert queue.slot_size.tolist() == [6, 4, 3, 3]
    hook.before_train(runner)  # a consumer with counts is left alone
    assert queue.slot_size.tolist() == [6, 4, 3, 3]


class _Runner:
    """The model and evaluators of a runner in a test run."""

    def __init__(self, metric, model=None):
        self.model = model or torch.nn.Module()
        evaluator = type('Evaluator', (), {'metrics': [metric]})()
        loop = type('Loop', (), {'evaluator': evaluator})()
        self._val_loop = self._test_loop = loop


def test_prior_file_gives_counts_and_image_counts(tmp_path):
    """From a prior file the metric gets the counts and the image counts,
    which make its frequent / common / rare groups ('d' in most images:
    frequent)."""
    path = str(tmp_path / 'prior.json')
    ClassPrior.write_file(path, PRIOR, image_counts=[3, 40, 12, 200])
    metric = LongTailIoUMetric(
        frequency_groups=dict(group_by='count', group_split=(100, 11)))
    ClassCountsHook(prior=path).before_test(_Runner(metric))
    assert metric._prior_counts.tolist() == list(PRIOR)
    assert metric._prior_source == f'prior {path}'
    res = evaluate(metric, hand_example())
    assert res['mIoU_frequent'] == pytest.approx(0.0, abs=0.01)
    assert res['mIoU_rare'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # a metric with its own prior is left alone
    own = LongTailIoUMetric(prior=dict(type='ClassPrior', counts=PRIOR))
    assert not own.requires_class_counts
    ClassCountsHook(prior=[1, 1, 1, 1]).before_test(_Runner(own))
    assert own._prior_counts is None


def test_online_prior_is_not_a_consumer(mmseg_scope):
    """An online prior counts its own training labels: a GML head with one
    takes no counts from the hook."""
    from mmseg.registry import MODELS
    head = MODELS.build(dict(
        type='GMLHead',
        decoder=dict(type='FCNHead', in_channels=8, channels=8,
                     num_classes=4, num_convs=1, concat_input=False),
        prior=dict(type='ClassPrior', num_classes=4, mode='online'),
        queue=dict(size=16)))
    metric = LongTailIoUMetric()
    ClassCountsHook(prior=PRIOR).before_val(_Runner(metric, head))
    assert head.prior.is_empty
    assert metric._prior_counts.tolist() == list(PRIOR)


def test_no_source_is_a_user_error():
    from mil_seg.errors import UserError
    metric = LongTailIoUMetric()
    runner = _Runner(metric)
    runner.cfg = Config(dict(default_scope='mmseg'))
    with pytest.raises(UserError, match='no training dataset'):
        ClassCountsHook().before_val(runner)
    with pytest.raises(UserError, match='not both'):
        ClassCountsHook(prior='camvid', dataset=dict(type='X'))
