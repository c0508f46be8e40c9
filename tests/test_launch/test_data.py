"""``mil_seg.launch.data``: missing data is found before anything is
built."""
import pytest
from mmengine.config import Config

from mil_seg.launch import MissingFileError, check_data, missing_data_paths


def config(tmp_path, **datasets) -> Config:
    return Config({
        f'{key}_dataloader': dict(dataset=dataset)
        for key, dataset in datasets.items()
    })


def test_missing_roots_and_annotation_files_in_config_order(tmp_path):
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'train.txt').write_text('')
    missing_root = str(tmp_path / 'nowhere')
    cfg = config(
        tmp_path,
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
        test=dict(data_root=str(tmp_path / 'generated'), auto_generate=True))
    assert missing_data_paths(cfg, ['train_dataloader']) == []
    assert missing_data_paths(
        cfg, ['train_dataloader', 'val_dataloader', 'test_dataloader',
              'no_such_dataloader']) == [
                  str(tmp_path / 'data' / 'val.txt'), missing_root
              ]


def test_check_data_names_the_first_missing_path(tmp_path):
    missing = str(tmp_path / 'nowhere')
    cfg = config(tmp_path, train=dict(data_root=missing))
    with pytest.raises(MissingFileError,
                       match=f'data not found: {missing} .*data_root=PATH'):
        check_data(cfg, ['train_dataloader'])
    check_data(cfg, ['val_dataloader'])  # not in the config: nothing to do
