"""Bad input: each case ends in a clear error that names the fix, or in a
documented safe behaviour. The checks both GML heads share run on each
(``task``: segmentation, classification); the rest are task-specific.

A teacher checkpoint whose keys or shapes do not match ``model.teacher`` is
covered by ``tests/test_cls/test_models/test_classifiers/
test_gml_classifier.py::test_teacher_mode_freezes_and_distils`` (not
repeated here)."""
import copy
import json
import re

import cv2
import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_state_dict
from mmpretrain.registry import DATASETS

from mil_seg.cls.datasets import get_class_counts
from mil_seg.cls.evaluation import LongTailAccuracy
from mil_seg.gml import ClassBalancedQueue, ClassPrior, GMLLoss
from ..tool_runner import (CLS_EMA, cls_options, run_tool,
                           write_image_folders)
from .tasks import (CHANNELS, CLS, NUM_CLASSES, SEG, TASKS, block_labels,
                    build_model, features, samples, tiny_classifier,
                    total_loss)

EMPTY = (3, 9)  # training classes without any image


def train_step(head, inputs, labels):
    losses, _ = SEG.head_step(head, labels, inputs=inputs)
    total_loss(losses).backward()
    return losses


# ------------------------------------------------------ shared by the tasks
LABEL_ERRORS = {
    'seg': r'\[{bad}\] are outside \[0, 4\).*ignore_index=255: set '
    r'num_classes',
    'cls': r'labels \[{bad}\] are outside \[0, 4\).*set num_classes of the '
    r'model .* or fix the dataset',
}


def head_for(task, variant):
    """seg: a fixed or an online prior; cls: GML or stage 1 (no
    contrastive branch)."""
    if variant == 'online':
        return SEG.build_head(prior=dict(type='ClassPrior', mode='online'))
    if variant == 'fixed':
        return SEG.build_head(
            prior=dict(type='ClassPrior', counts=[8, 4, 2, 1]))
    if variant == 'stage1':
        return CLS.build_head(loss_gml=dict(type='GMLLoss', con_weight=0.0))
    return CLS.build_head()


@pytest.mark.parametrize('task,variant,bad', [
    (task, variant, bad) for task, variants, bads in (
        ('seg', ('fixed', 'online'), (NUM_CLASSES, 7, -3)),
        ('cls', ('gml', 'stage1'), (NUM_CLASSES, 7, -1, 255)))
    for variant in variants for bad in bads
])
def test_labels_outside_classes_name_the_fix(task, variant, bad):
    head = head_for(task, variant)
    queue_before = None if head.contrast is None else copy.deepcopy(
        head.contrast.queue.state_dict())
    if task == 'seg':
        labels = block_labels()
        labels[0, :8, :8] = bad
    else:
        labels = [0, 1, bad, 2]
    with pytest.raises(
            ValueError, match=LABEL_ERRORS[task].format(bad=bad)):
        TASKS[task].head_step(head, labels)
    if queue_before is not None:  # nothing was pushed
        for name, value in head.contrast.queue.state_dict().items():
            assert torch.equal(value, queue_before[name]), name
    if task == 'seg':
        labels[0, :8, :8] = 255  # the ignore index itself is fine
        train_step(head, features(), labels)


@pytest.mark.parametrize('task', ['seg', 'cls'])
def test_queue_smaller_than_classes_times_base_size(task):
    task = TASKS[task]
    with pytest.raises(ValueError, match=r'Queue size 7 is smaller than '
                       r'num_classes \* base_size = 4 \* 2 = 8: increase '
                       'size or decrease base_size'):
        task.build_head(queue=task.queue_too_small)
    task.build_head(queue=task.queue_just_enough)  # exactly enough


@pytest.mark.parametrize('task,variant', [('seg', 'fixed'),
                                          ('seg', 'online'),
                                          ('cls', 'hook')])
def test_classes_that_never_occur(task, variant):
    """Classes with no training sample (count 0, or never seen by an online
    prior): the prior stays finite and positive, training steps stay
    finite, and those classes get no key."""
    if task == 'seg':
        prior = dict(type='ClassPrior', mode='online') if variant == \
            'online' else dict(type='ClassPrior', counts=[8, 4, 0, 0])
        head = SEG.build_head(prior=prior)
        temperature = head.loss_gml.log_temperature.detach().clone()
        labels = [0, 1]
    else:
        head = CLS.build_head(prior=None)  # filled as ClassCountsHook does
        assert head.requires_class_counts
        head.set_class_counts([8, 4, 0, 0])
        assert not head.requires_class_counts
        labels = [0, 0, 1, 1]
    assert torch.isfinite(head.prior.log_prior).all()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
    for step in range(3):
        optimizer.zero_grad()
        losses, _ = TASKS[task].head_step(head, labels, seed=step)
        assert all(torch.isfinite(value) for value in losses.values())
        TASKS[task].total(losses).backward()
        optimizer.step()
    if task == 'cls':
        # the queue followed the filled prior at its first push: smoothed,
        # the classes without samples keep base_size slots
        assert head.contrast.queue.slot_size.tolist()[2:] == [2, 2]
        assert int(head.contrast.queue.slot_size.sum()) == \
            head.contrast.queue.size
    assert torch.isfinite(head.prior.log_prior).all()
    assert (head.prior.probs > 0).all()
    assert head.contrast.queue.num_pushed.tolist()[2:] == [0, 0]
    if task == 'seg':
        valid = head.contrast.queue.valid_mask()
        assert not valid[head.contrast.queue.labels >= 2].any()
        # the absent classes' temperatures get no gradient
        assert torch.equal(head.loss_gml.log_temperature.detach()[2:],
                           temperature[2:])


# ------------------------------------------------------------ segmentation
def build_head(**overrides):
    return SEG.build_head(**overrides)


def test_prior_length_not_num_classes():
    with pytest.raises(ValueError, match='num_classes=4: use the prior'):
        build_head(prior=dict(type='ClassPrior', counts=[1, 2, 3]))


def test_prior_file_missing_or_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError, match='pass an existing path'):
        build_head(prior=dict(type='ClassPrior', file=str(tmp_path / 'no')))
    corrupt = tmp_path / 'corrupt.json'
    corrupt.write_text('{"counts": [1, 2')
    with pytest.raises(ValueError, match='not valid JSON.*regenerate'):
        build_head(prior=dict(type='ClassPrior', file=str(corrupt)))
    for content in ({'counts': ['a', 1, 1, 1]}, {'classes': ['a']},
                    {'counts': [1, -1, 1, 1]}, {'counts': [0, 0, 0, 0]}):
        corrupt.write_text(json.dumps(content))
        with pytest.raises(ValueError, match='regenerate'):
            build_head(prior=dict(type='ClassPrior', file=str(corrupt)))
    corrupt.write_text(json.dumps({'counts': [1, 2, 3]}))
    with pytest.raises(ValueError, match='num_classes=4'):
        build_head(prior=dict(type='ClassPrior', file=str(corrupt)))


@pytest.mark.parametrize('smoothing', [0.0, 1.0])
def test_class_with_zero_pixels_in_the_prior(smoothing):
    """Smoothing gives it a small mass; without smoothing it is floored at
    1e-12: the log prior and the loss stay finite."""
    prior = dict(
        type='ClassPrior', counts=[80, 40, 0, 1], smoothing=smoothing)
    head = build_head(prior=prior)
    assert torch.isfinite(head.prior.log_prior).all()
    assert head.contrast.queue.slot_size[2] >= head.contrast.queue.base_size
    losses = train_step(head, features(), block_labels())
    assert all(torch.isfinite(value) for value in losses.values())


def test_all_ignored_batch_zero_loss_gradients_defined_queue_unchanged():
    head = build_head()
    inputs = features().requires_grad_()
    before = {k: v.clone() for k, v in head.contrast.queue.named_buffers()}
    losses = train_step(head, inputs, torch.full((2, 32, 32), 255))
    assert total_loss(losses).item() == 0.0
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()
    for name, buffer in head.contrast.queue.named_buffers():
        assert torch.equal(buffer, before[name]), name


def test_checkpoint_with_another_queue_shape():
    """Strict loading fails with the reason; mmengine's non-strict loading
    (resume, load_from) keeps a consistent, empty queue and logs why."""
    source = build_head(queue=dict(size=96))
    train_step(source, features(), block_labels())
    state = source.state_dict()
    head = build_head()
    train_step(head, features(), block_labels())
    with pytest.raises(RuntimeError,
                       match=r'queue starts empty.*queue=dict\(size'):
        head.load_state_dict(state)
    head = build_head()
    train_step(head, features(), block_labels())
    load_state_dict(head, state, strict=False)
    assert not head.contrast.queue.valid_mask().any()
    assert (head.contrast.queue.num_pushed == 0).all()
    assert head.contrast.queue.features.shape == (64, CHANNELS)
    # the rest of the head is loaded
    assert torch.equal(head.conv_seg.weight, source.conv_seg.weight)


def test_embedding_dim_mismatch_between_head_and_queue():
    queue = ClassBalancedQueue(NUM_CLASSES, size=16, dim=CHANNELS)
    with pytest.raises(ValueError, match=f'push B x {CHANNELS} features'):
        queue.push(torch.randn(3, CHANNELS + 1), torch.tensor([0, 1, 2]))
    loss = GMLLoss(NUM_CLASSES)
    with pytest.raises(ValueError, match='project both to the same size'):
        loss(
            torch.randn(2, NUM_CLASSES),
            torch.tensor([0, 1]),
            ClassPrior(NUM_CLASSES),
            query=torch.randn(2, 4),
            keys=torch.randn(3, 5),
            key_labels=torch.tensor([0, 1, 2]))


@pytest.mark.parametrize('label_size,feature_size', [((37, 23), (5, 3)),
                                                     ((3, 200), (1, 25)),
                                                     ((1, 1), (1, 1))])
def test_unusual_image_sizes(label_size, feature_size):
    head = build_head()
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(0, NUM_CLASSES, (2, *label_size),
                           generator=generator)
    inputs = torch.randn(2, CHANNELS, *feature_size, generator=generator)
    losses = train_step(head, inputs, labels)
    assert all(torch.isfinite(value) for value in losses.values())
    assert head.contrast.queue.num_pushed.sum() > 0


def test_single_channel_images_are_loaded_as_colour(tmp_path):
    """mmcv's LoadImageFromFile (color_type='color', the default of every
    config here) reads a grayscale file as 3 equal channels, so the
    backbones' 3-channel stem and the 3-value mean/std apply unchanged."""
    from mmcv.transforms import LoadImageFromFile
    path = str(tmp_path / 'gray.png')
    cv2.imwrite(path, np.arange(35 * 17, dtype=np.uint8).reshape(35, 17))
    results = LoadImageFromFile()(dict(img_path=path))
    assert results['img'].shape == (35, 17, 3)
    assert (results['img'][..., 0] == results['img'][..., 2]).all()


# ---------------------------------------------------------- classification
def contrast_step(head, labels, key_feats=None, key_projector=None):
    return CLS.head_step(head, labels, key_feats=key_feats,
                         key_projector=key_projector)[0]


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


def test_all_zero_counts_are_refused_with_the_fix():
    head = CLS.build_head(prior=None)
    with pytest.raises(ValueError, match='sum to 0'):
        head.set_class_counts([0, 0, 0, 0])
    with pytest.raises(ValueError, match='set num_classes'):
        head.set_class_counts([1, 2, 3])


def test_metric_groups_with_zero_count_classes():
    """A class with no training image is a few-shot class; every group is
    the mean over its classes present in the evaluation set, an empty group
    is nan (never a division error)."""
    metric = LongTailAccuracy(
        prior=[150, 50, 0, 0], group_split=(100, 20))
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
    config.write_text(f'''_base_ = [{CLS_EMA!r}]
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
    pushed = state['head.contrast.queue.num_pushed']
    assert [int(pushed[c]) for c in EMPTY] == [0, 0]
    assert all(torch.isfinite(v).all() for k, v in state.items()
               if v.is_floating_point())
    log = result.stdout + result.stderr
    values = re.search(r'lt/top1: (\S+)\s+lt/mean_class: (\S+)\s+lt/many: '
                       r'(\S+)\s+lt/medium: (\S+)\s+lt/few: (\S+)', log)
    assert values, log[-2000:]
    top1, mean_class, many, medium, few = map(float, values.groups())
    assert all(np.isfinite([top1, mean_class, few]))
    assert np.isnan(many) and np.isnan(medium)  # 8 and 0 images: few-shot


def test_key_features_of_another_size_than_the_queue():
    head = CLS.build_head()
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
    head = CLS.build_head()
    wrong = torch.nn.Linear(CHANNELS, 5)  # proj_dim is 4
    with pytest.raises(ValueError, match='project both to the same size'):
        contrast_step(head, [0, 1, 2, 3], key_projector=wrong)


def test_launcher_with_num_classes_below_the_dataset_s(tmp_path):
    """num_classes smaller than the dataset's: ClassCountsHook refuses the
    10 counts before the first step, as one ``error:`` line naming the fix
    (the package's own checks are user errors for the launchers)."""
    root = write_image_folders(str(tmp_path / 'data'))
    result = run_tool('tools/train.py', CLS_EMA, '--work-dir',
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
