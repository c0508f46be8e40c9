"""Bad input to the classification side: each case ends in a clear error
that names the fix, or in a documented safe behaviour.

A teacher checkpoint whose keys or shapes do not match ``model.teacher`` is
covered by ``tests/test_cls/test_models.py::
test_teacher_mode_freezes_and_distils`` (not repeated here)."""
import copy
import re

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS

from mil_seg.cls.datasets import get_class_counts
from mil_seg.cls.evaluation import LongTailAccuracy
from .conftest import run_tool
from .test_cls_amp import (CHANNELS, NUM_CLASSES, build_head, build_model,
                           samples, tiny_classifier, total)
from .test_cls_resume import EMA, cls_options, write_image_folders

EMPTY = (3, 9)  # training classes without any image


def contrast_step(head, labels, key_feats=None, key_projector=None):
    feats = torch.randn(len(labels), CHANNELS)
    if key_feats is None:
        key_feats = torch.randn(len(labels), CHANNELS)
    if key_projector is None and head.contrast.key_projector is None:
        key_projector = copy.deepcopy(head.contrast.projector)
    return head.loss((feats, ),
                     samples(labels),
                     query_feats=(feats, ),
                     key_feats=key_feats,
                     key_projector=key_projector)


# ---------------------------------------------------------------- labels
@pytest.mark.parametrize('bad', [NUM_CLASSES, 7, -1, 255])
@pytest.mark.parametrize('stage', ['gml', 'stage1'])
def test_labels_outside_classes_name_the_fix(stage, bad):
    head = build_head() if stage == 'gml' else build_head(
        loss_gml=dict(type='GMLLoss', con_weight=0.0))
    queue_before = None if head.contrast is None else copy.deepcopy(
        head.contrast.queue.state_dict())
    labels = [0, 1, bad, 2]
    message = (rf'labels \[{bad}\] are outside \[0, {NUM_CLASSES}\).*set '
               r'num_classes of the model .* or fix the dataset')
    with pytest.raises(ValueError, match=message):
        if stage == 'gml':
            contrast_step(head, labels)
        else:
            head.loss((torch.randn(4, CHANNELS), ), samples(labels))
    if queue_before is not None:  # nothing was pushed
        for name, value in head.contrast.queue.state_dict().items():
            assert torch.equal(value, queue_before[name]), name


def test_classifier_with_labels_outside_classes(tmp_path):
    model = tiny_classifier()
    views = [torch.randn(2, 3, 32, 32) for _ in range(3)]
    with pytest.raises(ValueError, match=r'labels \[4\] are outside \[0, 4\)'):
        model.loss(views, samples([0, 4]))


@pytest.mark.parametrize('bad', [NUM_CLASSES, -1])
def test_metric_labels_outside_classes_name_the_fix(bad):
    metric = LongTailAccuracy(prior=[8, 4, 2, 1])
    with pytest.raises(ValueError, match=rf'labels \[{bad}\] outside '
                       r'\[0, 4\).*evaluate on a labelled set'):
        metric.compute_metrics([(0, 0), (1, bad)])


# ------------------------------------------------ classes without images
def test_prior_queue_and_step_with_zero_count_classes():
    """Counts 0: the prior is smoothed (finite log prior), the class keeps
    base_size queue slots, and training steps stay finite."""
    head = build_head(prior=None)  # filled as ClassCountsHook does
    assert head.requires_class_counts
    head.set_class_counts([8, 4, 0, 0])
    assert not head.requires_class_counts
    assert torch.isfinite(head.prior.log_prior).all()
    assert (head.prior.probs > 0).all()
    assert head.contrast.queue.slot_size.tolist()[2:] == [2, 2]
    assert int(head.contrast.queue.slot_size.sum()) == head.contrast.queue.size
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        losses = contrast_step(head, [0, 0, 1, 1])
        assert all(torch.isfinite(v) for v in losses.values())
        total(losses).backward()
        optimizer.step()
    # the empty classes get no key
    assert head.contrast.queue.num_pushed.tolist()[2:] == [0, 0]


def test_all_zero_counts_are_refused_with_the_fix():
    head = build_head(prior=None)
    with pytest.raises(ValueError, match='sum to 0'):
        head.set_class_counts([0, 0, 0, 0])
    with pytest.raises(ValueError, match='set num_classes'):
        head.set_class_counts([1, 2, 3])


def test_metric_groups_with_zero_count_classes():
    """A class with no training image is a few-shot class; every group is
    the mean over its classes present in the evaluation set, an empty group
    is nan (never a division error)."""
    metric = LongTailAccuracy(
        prior=[150, 50, 0, 0], many_thr=100, few_thr=20)
    results = [(0, 0), (1, 1), (0, 1), (2, 2), (0, 3)]
    out = metric.compute_metrics(results)
    assert out['many'] == 100.0
    assert out['medium'] == 50.0
    assert out['few'] == 50.0  # classes 2 (right) and 3 (wrong)
    assert out['mean_class'] == pytest.approx(100 * 2.5 / 4)
    assert out['top1'] == pytest.approx(100 * 3 / 5)
    only_zero = LongTailAccuracy(prior=[0, 0, 5, 500])
    out = only_zero.compute_metrics([(3, 3)])
    assert out['many'] == 100.0
    assert np.isnan(out['medium']) and np.isnan(out['few'])


@pytest.fixture(scope='module')
def empty_class_root(tmp_path_factory):
    return write_image_folders(
        str(tmp_path_factory.mktemp('cifar10_empty')), empty=EMPTY)


def test_long_tail_subset_of_an_empty_class_names_the_fix(empty_class_root):
    dataset = dict(
        type='CustomDataset',
        data_root=empty_class_root,
        data_prefix='train',
        pipeline=[])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        counts = get_class_counts(DATASETS.build(dataset))
        assert [counts[c] for c in EMPTY] == [0, 0] and len(counts) == 10
        with pytest.raises(ValueError, match='class 3 has 0 samples.*'
                           'without LongTailSubset'):
            DATASETS.build(dict(type='LongTailSubset', dataset=dataset))


def test_training_on_a_dataset_with_empty_classes(empty_class_root,
                                                  tmp_path):
    """tools/train.py on image folders in which 2 of the 10 classes have no
    training image (the dataset used as it is): ClassCountsHook fills
    counts with zeros, training and validation run, the prior stays
    finite and the metric reports its groups."""
    config = tmp_path / 'gml_ema_folder.py'
    config.write_text(f'''_base_ = [{EMA!r}]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root={empty_class_root!r},
        data_prefix='train',
        pipeline=_base_.train_pipeline))
''')
    options = [
        option
        for option in cls_options(empty_class_root, 1,
                                  'model.head.queue.size=40')
        if not option.startswith('train_dataloader.dataset.dataset.')
    ]
    result = run_tool('tools/train.py', str(config), '--work-dir',
                      str(tmp_path / 'work'), *options)
    assert result.returncode == 0, result.stderr[-4000:]
    checkpoint = torch.load(
        tmp_path / 'work' / 'epoch_1.pth', map_location='cpu')
    state = checkpoint['state_dict']
    counts = state['head.prior.counts'].tolist()
    assert counts == [0 if c in EMPTY else 8 for c in range(10)]
    assert (state['head.contrast.queue.slot_size'] >= 2).all()
    assert [int(state['head.contrast.queue.num_pushed'][c]) for c in EMPTY] == [0, 0]
    assert all(torch.isfinite(v).all() for k, v in state.items()
               if v.is_floating_point())
    log = result.stdout + result.stderr
    values = re.search(r'lt/top1: (\S+)\s+lt/mean_class: (\S+)\s+lt/many: '
                       r'(\S+)\s+lt/medium: (\S+)\s+lt/few: (\S+)', log)
    assert values, log[-2000:]
    top1, mean_class, many, medium, few = map(float, values.groups())
    assert all(np.isfinite([top1, mean_class, few]))
    assert np.isnan(many) and np.isnan(medium)  # 8 and 0 images: few-shot


# -------------------------------------------------- queue and dimensions
def test_queue_smaller_than_classes_times_base_size():
    with pytest.raises(ValueError, match=r'Queue size 7 is smaller than '
                       r'num_classes \* base_size = 4 \* 2 = 8: increase '
                       'size or decrease base_size'):
        build_head(queue=dict(size=7, base_size=2))
    build_head(queue=dict(size=8, base_size=2))  # exactly enough


def test_key_features_of_another_size_than_the_queue():
    head = build_head()
    with pytest.raises(ValueError, match=r'key features of shape \(4, 16\) '
                       r'for a queue of 8-channel features: set '
                       'model.head.key_in_channels'):
        contrast_step(head, [0, 1, 2, 3], key_feats=torch.randn(4, 16))
    assert int(head.contrast.queue.num_pushed.sum()) == 0


def test_teacher_features_of_another_size_than_key_in_channels():
    """Caught when the student is built, before any data is read."""
    cfg = dict(
        type='GMLClassifier',
        backbone=dict(type='CIFARResNet', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='GMLClsHead',
            num_classes=NUM_CLASSES,
            in_channels=64,
            key_in_channels=32,
            queue=dict(size=16, base_size=2),
            prior=dict(counts=[8, 4, 2, 1])),
        teacher=dict(
            backbone=dict(type='CIFARResNet', depth=20),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='GMLClsHead',
                num_classes=NUM_CLASSES,
                in_channels=64,
                loss_gml=dict(type='GMLLoss', con_weight=0.0))))
    with pytest.raises(ValueError, match=r"teacher's features have 64 "
                       r'channels but head.key_in_channels=32: set '
                       r'model.head.key_in_channels=64'):
        build_model(cfg)


def test_key_projector_of_another_embedding_size():
    head = build_head()
    wrong = torch.nn.Linear(CHANNELS, 5)  # proj_dim is 4
    with pytest.raises(ValueError, match='project both to the same size'):
        contrast_step(head, [0, 1, 2, 3], key_projector=wrong)


def test_launcher_with_num_classes_below_the_dataset_s(tmp_path):
    """num_classes smaller than the dataset's: ClassCountsHook refuses the
    10 counts before the first step, as one ``error:`` line naming the fix
    (the package's own checks are user errors for the launchers)."""
    root = write_image_folders(str(tmp_path / 'data'))
    result = run_tool('tools/train.py', EMA, '--work-dir',
                      str(tmp_path / 'work'),
                      *cls_options(root, 1, 'model.head.num_classes=5'))
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1
    assert errors[0].startswith('error: 10 class counts for a prior of 5 '
                                'classes: set num_classes'), errors[0]
    assert 'Epoch(train)' not in result.stdout + result.stderr
