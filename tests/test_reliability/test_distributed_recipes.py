"""Every recipe family trains in two processes (``tools/dist_train.sh``,
gloo on the CPU) and ends with the same model state on both ranks: the
parameters, and the queues, priors and temperatures of the GML heads.

Families: segmentation stage 1 (``fcn-gml-teacher``) then stage 2 from
its checkpoint (``fcn-gml-student``), the cascade two-stage path (an
OCRNet-layout ``CascadeEncoderDecoder`` stage 1, then
``GMLCascadeEncoderDecoder`` from it), the CE and LA-CE baselines;
classification CE, LA, and teacher then student. The single-stage GML
recipes of both tasks (the demo with SyncBN, the EMA config) run in
``test_distributed.py``, which checks their ranks after every step.

Each run is a few iterations on generated data (CamVid-layout images for
the CamVid configs, CIFAR-style folders for classification). Plain BN
layers (every config here) update their running statistics from each
rank's own batch, so those alone may differ between ranks."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from ..tool_runner import (CLS_CONFIGS, DEMO_GML, ROOT, cls_options,
                           run_dist_train, small_seg_options,
                           write_image_folders)

HERE = osp.dirname(osp.abspath(__file__))
SEG_CONFIGS = osp.join(ROOT, 'configs', 'gml_seg')
CAMVID = 'r18-tiny-d8_1xb8-1k_camvid-240x180.py'
BN_STATISTICS = ('running_mean', 'running_var')


def seg_config(name: str) -> str:
    return osp.join(SEG_CONFIGS, f'{name}_{CAMVID}')


def cls_config(prefix: str) -> str:
    return osp.join(CLS_CONFIGS, f'{prefix}_1xb128-200e_cifar10lt-r100.py')


def probed(root, config: str, text: str = '') -> str:
    """``config`` (or, with ``text``, that config text) plus the final-state
    probe, as a config file in ``root``."""
    base = text or f'_base_ = [{config!r}]\n'
    hooks = list(Config.fromfile(config).get('custom_hooks') or []) \
        if not text else []
    path = root / 'probed_config.py'
    path.write_text(
        base + "custom_imports = dict(imports=['mil_seg', 'queue_probe'], "
        'allow_failed_imports=False)\n'
        f"custom_hooks = {hooks + [dict(type='FinalStateProbeHook')]!r}\n")
    return str(path)


def train_two_processes(root, config: str, options: list,
                        text: str = '') -> dict:
    """A 2-process run in ``root``/work that must succeed; returns the work
    dir and both ranks' final state hashes."""
    root.mkdir(parents=True, exist_ok=True)
    work_dir = root / 'work'
    result = run_dist_train(
        probed(root, config, text), work_dir, options, PYTHONPATH=HERE)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    ranks = []
    for rank in range(2):
        with open(work_dir / f'final_rank{rank}.json') as f:
            ranks.append(json.load(f))
    return dict(work_dir=work_dir, ranks=ranks)


# ------------------------------------------------------------------ data
def write_camvid(root: str) -> str:
    """A CamVid in the converted mmseg layout: 4 train, 2 val images of
    60 x 80, every class present, some pixels unlabelled (255)."""
    import cv2
    rng = np.random.default_rng(0)
    for split, count in (('train', 4), ('val', 2)):
        for folder in ('img_dir', 'ann_dir'):
            os.makedirs(osp.join(root, folder, split), exist_ok=True)
        for i in range(count):
            image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
            label = np.repeat(np.arange(12, dtype=np.uint8), 400)
            label = rng.permutation(label).reshape(60, 80)
            label[label == 11] = 255
            name = f'{split}_{i:03d}.png'
            cv2.imwrite(osp.join(root, 'img_dir', split, name), image)
            cv2.imwrite(osp.join(root, 'ann_dir', split, name), label)
    return root


@pytest.fixture(scope='module')
def camvid_root(tmp_path_factory) -> str:
    return write_camvid(str(tmp_path_factory.mktemp('camvid')))


def camvid_options(data_root: str, *extra: str) -> list:
    """2 iterations of batch 2 per rank, a validation and a checkpoint at
    the end."""
    options = [
        f'{loader}.{key}'
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
        for key in (f'dataset.data_root={data_root}', 'num_workers=0',
                    'persistent_workers=False')
    ]
    return [
        '--cfg-options', *options, 'train_dataloader.batch_size=2',
        'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler=[]', *extra
    ]


# --------------------------------------------------------- cascade configs
NORM = dict(type='BN', requires_grad=True)


def cascade_heads(**gml) -> list:
    """FCN stage and GML-wrapped OCR stage on the demo's backbone."""
    common = dict(in_channels=128, in_index=0, channels=16, num_classes=8,
                  dropout_ratio=-1, norm_cfg=NORM)
    return [
        dict(type='FCNHead', num_convs=1, concat_input=False,
             loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4),
             **common),
        dict(type='GMLCascadeHead',
             decoder=dict(type='OCRHead', ocr_channels=8, **common),
             prior=dict(type='ClassPrior', mode='online'),
             embed_dim=8,
             queue=dict(size=256),
             anchor_sampler=dict(type='ClassBalancedAnchorSampler',
                                 max_anchors_per_image=32),
             **gml)
    ]


def cascade_stage1_text() -> str:
    return (f'_base_ = [{DEMO_GML!r}]\n'
            "model = dict(type='CascadeEncoderDecoder', num_stages=2, "
            f'decode_head={cascade_heads(loss_gml=dict(con_weight=0.0))!r})\n')


def cascade_stage2_text(checkpoint: str) -> str:
    stage1_heads = cascade_heads(loss_gml=dict(con_weight=0.0))
    teacher = ("dict(type='CascadeEncoderDecoder', num_stages=2, "
               'backbone={{_base_.model.backbone}}, '
               f'decode_head={stage1_heads!r}, '
               f"test_cfg=dict(mode='whole'), checkpoint={checkpoint!r})")
    student = cascade_heads(key_in_channels=16)
    return (f'_base_ = [{DEMO_GML!r}]\n'
            "model = dict(type='GMLCascadeEncoderDecoder', num_stages=2, "
            f'decode_head={student!r}, teacher={teacher})\n')


def cascade_options(data_root: str) -> list:
    """:func:`small_seg_options` less its single-head entries."""
    return [
        option for option in small_seg_options(data_root, 2)
        if not option.startswith('model.decode_head.')
    ]


# ------------------------------------------------------------------- runs
@pytest.fixture(scope='module')
def seg_two_stage(camvid_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('seg_two_stage')
    stage1 = train_two_processes(root / 'stage1',
                                 seg_config('fcn-gml-teacher'),
                                 camvid_options(camvid_root))
    teacher = stage1['work_dir'] / 'iter_2.pth'
    stage2 = train_two_processes(
        root / 'stage2', seg_config('fcn-gml-student'),
        camvid_options(camvid_root, f'model.teacher.checkpoint={teacher}'))
    return dict(stage1=stage1, stage2=stage2)


@pytest.fixture(scope='module')
def seg_cascade(synthetic_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('seg_cascade')
    stage1 = train_two_processes(root / 'stage1', DEMO_GML,
                                 cascade_options(synthetic_root),
                                 cascade_stage1_text())
    teacher = str(stage1['work_dir'] / 'iter_2.pth')
    stage2 = train_two_processes(root / 'stage2', DEMO_GML,
                                 cascade_options(synthetic_root),
                                 cascade_stage2_text(teacher))
    return dict(stage1=stage1, stage2=stage2)


def train_each(root, configs: dict, options: list) -> dict:
    """:func:`train_two_processes` of each named config, in ``root``/name."""
    return {
        name: train_two_processes(root / name, config, options)
        for name, config in configs.items()
    }


@pytest.fixture(scope='module')
def seg_baselines(camvid_root, tmp_path_factory):
    return train_each(
        tmp_path_factory.mktemp('seg_baselines'),
        {name: seg_config(name)
         for name in ('fcn-ce', 'fcn-lace')}, camvid_options(camvid_root))


@pytest.fixture(scope='module')
def cls_folders_small(tmp_path_factory) -> str:
    return write_image_folders(str(tmp_path_factory.mktemp('cls_folders')))


def cls_run_options(data_root: str, *extra: str) -> list:
    """1 epoch of batch 4 per rank (3 steps, the last one uneven)."""
    return cls_options(data_root, 1, 'train_dataloader.batch_size=4', *extra)


@pytest.fixture(scope='module')
def cls_baselines(cls_folders_small, tmp_path_factory):
    return train_each(
        tmp_path_factory.mktemp('cls_baselines'),
        {name: cls_config(name)
         for name in ('ce_resnet32', 'la_resnet32')},
        cls_run_options(cls_folders_small))


@pytest.fixture(scope='module')
def cls_two_stage(cls_folders_small, tmp_path_factory):
    root = tmp_path_factory.mktemp('cls_two_stage')
    stage1 = train_two_processes(
        root / 'stage1', cls_config('gml-teacher_resnet56'),
        cls_run_options(cls_folders_small, 'model.backbone.depth=20'))
    teacher = stage1['work_dir'] / 'epoch_1.pth'
    stage2 = train_two_processes(
        root / 'stage2', cls_config('gml_resnet32-resnet56'),
        cls_run_options(cls_folders_small, 'model.teacher.backbone.depth=20',
                        f'model.teacher.checkpoint={teacher}',
                        'model.head.queue.size=40'))
    return dict(stage1=stage1, stage2=stage2)


# ------------------------------------------------------------------ tests
GML = ('contrast.queue.features', 'contrast.queue.labels', 'prior.counts',
       'loss_gml.log_temperature')
STAGE1 = ('prior.counts', 'loss_gml.log_temperature')


def assert_ranks_identical(run: dict, state: tuple) -> None:
    rank0, rank1 = run['ranks']
    assert rank0.keys() == rank1.keys()
    differing = [
        name for name in rank0
        if rank0[name] != rank1[name] and not name.endswith(BN_STATISTICS)
    ]
    assert differing == []
    for part in state:
        assert any(part in name for name in rank0), (part, list(rank0))


FAMILIES = {
    # family: (fixture, the state each run must hold (names' parts))
    'seg_two_stage': ('seg_two_stage', dict(stage1=STAGE1, stage2=GML)),
    'seg_cascade': ('seg_cascade', dict(stage1=STAGE1, stage2=GML)),
    'seg_baselines': ('seg_baselines', {
        'fcn-ce': (),
        'fcn-lace': ('prior.counts', )
    }),
    'cls_baselines': ('cls_baselines',
                      dict(ce_resnet32=(), la_resnet32=('prior.counts', ))),
    'cls_two_stage': ('cls_two_stage', dict(stage1=STAGE1, stage2=GML)),
}


@pytest.mark.parametrize('family', [
    pytest.param(family, marks=pytest.mark.xdist_group(f'dist_{family}'))
    for family in FAMILIES
])
def test_recipe_trains_in_two_processes_with_identical_ranks(
        request, family):
    fixture, runs = FAMILIES[family]
    results = request.getfixturevalue(fixture)
    for name, state in runs.items():
        assert_ranks_identical(results[name], state)
