"""Every config in configs/gml_seg builds its model (nothing downloaded), and
the CE / GML pairs differ only in their decode head."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mil_seg  # noqa: F401
import mil_seg.seg.models  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'gml_seg')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
GML_CONFIGS = [path for path in CONFIGS if '-gml_' in osp.basename(path)]
CAMVID_CONFIGS = [path for path in CONFIGS if '_camvid-' in path]


def no_downloads(node):
    """Drop pretrained weights (``pretrained``, ``Pretrained`` init)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == 'pretrained':
                value = None
            elif key == 'init_cfg' and isinstance(
                    value, dict) and value.get('type') == 'Pretrained':
                value = None
            result[key] = no_downloads(value)
        return result
    if isinstance(node, (list, tuple)):
        return type(node)(no_downloads(value) for value in node)
    return node


def without_sync_bn(node):
    """SyncBN needs a process group to run; BN is the same on one process."""
    if isinstance(node, dict):
        return {
            key: ('BN' if key == 'type' and value == 'SyncBN' else
                  without_sync_bn(value))
            for key, value in node.items()
        }
    if isinstance(node, (list, tuple)):
        return type(node)(without_sync_bn(value) for value in node)
    return node


def load(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


def ce_partner(path):
    return path.replace('-gml_', '-ce_')


def test_configs_are_found():
    names = [osp.basename(path) for path in CONFIGS]
    for algorithm in ('deeplabv3plus', 'upernet', 'segformer'):
        assert any(n.startswith(f'{algorithm}-gml_') for n in names)
        assert any(n.startswith(f'{algorithm}-ce_') for n in names)
    # FCN: ce, lace, gml, gml-linear and the two stages gml-teacher /
    # gml-student; DeepLabV3+: ce, lace, gml, gml-linear
    assert len(CAMVID_CONFIGS) == 10


@pytest.mark.parametrize(
    'path', CONFIGS, ids=[osp.basename(path) for path in CONFIGS])
def test_config_builds_model(path):
    from mmseg.registry import MODELS
    cfg = load(path)
    assert cfg.custom_imports == dict(
        imports=['mil_seg'], allow_failed_imports=False)
    model = MODELS.build(no_downloads(cfg.model.to_dict()))
    assert sum(p.numel() for p in model.parameters()) > 0
    if '-gml_' in path:
        head = model.decode_head
        assert type(head).__name__ == 'GMLHead'
        assert head.num_classes == head.prior.probs.numel()
        assert head.contrast.queue is not None


@pytest.mark.parametrize(
    'path', GML_CONFIGS, ids=[osp.basename(path) for path in GML_CONFIGS])
def test_gml_config_differs_from_its_baseline_only_in_the_head(path):
    gml, ce = load(path), load(ce_partner(path))
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper',
                'train_dataloader', 'val_evaluator', 'val_dataloader'):
        assert gml.get(key) == ce.get(key), key
    gml_model, ce_model = gml.model.to_dict(), ce.model.to_dict()
    assert gml_model.pop('decode_head')['decoder'] == ce_model.pop(
        'decode_head')
    assert gml_model == ce_model
    custom_keys = gml.optim_wrapper.paramwise_cfg.custom_keys
    assert custom_keys['log_temperature']['decay_mult'] == 0.0
    evaluator = gml.val_evaluator
    assert evaluator.type == 'LongTailIoUMetric'
    # The metric's groups come from the loss's class counts; tau, the
    # strength of the logit adjustment, is the loss's alone.
    assert without_tau(evaluator.prior) == without_tau(
        gml.model.decode_head.prior)


def without_tau(prior):
    prior = dict(prior)
    prior.pop('tau', None)
    return prior


@pytest.mark.parametrize('model', ['fcn', 'deeplabv3plus'])
def test_camvid_linear_ablation_is_lace_plus_the_contrastive_term(model):
    """``*-gml-linear`` keeps the LA-CE baseline's prior strength (the
    cosine GML configs use their own), so the contrastive term is its only
    difference from ``*-lace``."""
    from mmseg.registry import MODELS
    suffix = 'r18-tiny-d8_1xb8-1k_camvid-240x180'
    linear = load(osp.join(CONFIG_DIR, f'{model}-gml-linear_{suffix}.py'))
    lace = load(osp.join(CONFIG_DIR, f'{model}-lace_{suffix}.py'))
    linear_head = MODELS.build(linear.model.to_dict()).decode_head
    lace_head = MODELS.build(lace.model.to_dict()).decode_head
    torch.testing.assert_close(linear_head.prior.log_prior,
                               lace_head.loss_decode.prior.log_prior)
    assert isinstance(linear_head.conv_seg, torch.nn.Conv2d)


def test_temperature_is_not_weight_decayed():
    """The paramwise key really reaches the temperature (even with
    SegFormer's 'head' lr_mult key)."""
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    path = osp.join(CONFIG_DIR,
                    'segformer-gml_mit-b0_8xb2-160k_ade20k-512x512.py')
    cfg = load(path)
    model = MODELS.build(without_sync_bn(no_downloads(cfg.model.to_dict())))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    temperature = model.decode_head.loss_gml.log_temperature
    groups = [
        group for group in optim_wrapper.optimizer.param_groups
        if any(param is temperature for param in group['params'])
    ]
    assert len(groups) == 1 and groups[0]['weight_decay'] == 0.0


@pytest.mark.parametrize(
    'path', CAMVID_CONFIGS,
    ids=[osp.basename(path) for path in CAMVID_CONFIGS])
def test_camvid_model_runs_a_training_step(path, builders):
    from mmseg.registry import MODELS
    cfg = load(path)
    model = MODELS.build(cfg.model.to_dict())
    if hasattr(model, 'teacher_loaded'):
        # The student's teacher keeps its random weights: only the step is
        # tested here (loading: test_camvid_student_teacher_is_the_stage1_*).
        model.teacher_loaded.fill_(True)
    model.train()
    torch.manual_seed(0)
    images = torch.randn(2, 3, 36, 48)
    labels = torch.randint(0, 11, (2, 36, 48))
    labels[:, :4] = 255
    losses = model.loss(images, builders.make_data_samples(labels))
    total = sum(value for key, value in losses.items() if 'loss' in key)
    assert math.isfinite(total.item())
    total.backward()


def test_camvid_student_teacher_is_the_stage1_model(tmp_path):
    """The student's ``model.teacher`` rebuilds exactly the stage-1 config's
    model, whose default checkpoint path it names, so it loads strictly."""
    from mmseg.registry import MODELS
    suffix = 'r18-tiny-d8_1xb8-1k_camvid-240x180'
    stage1 = load(osp.join(CONFIG_DIR, f'fcn-gml-teacher_{suffix}.py'))
    stage2 = load(osp.join(CONFIG_DIR, f'fcn-gml-student_{suffix}.py'))
    teacher_cfg = stage2.model.teacher.to_dict()
    checkpoint = teacher_cfg.pop('checkpoint')
    assert checkpoint == (f'work_dirs/fcn-gml-teacher_{suffix}/'
                          f'iter_{stage1.train_cfg.max_iters}.pth')
    torch.manual_seed(0)
    trained = MODELS.build(stage1.model.to_dict())
    path = tmp_path / 'stage1.pth'
    torch.save(dict(state_dict=trained.state_dict()), path)
    student_cfg = stage2.model.to_dict()
    student_cfg['teacher']['checkpoint'] = str(path)
    student = MODELS.build(student_cfg)
    student.init_weights()
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(student.teacher.state_dict()[key], value)
    # Not in the state dict, but the distilled logits scale with it.
    assert student.teacher.decode_head.conv_seg.scale == \
        trained.decode_head.conv_seg.scale
    assert student.decode_head.key_in_channels == \
        trained.decode_head.channels
