"""``mil_seg.launch.config``: a launcher's config, with its command-line
overrides, and the mistakes that end as user errors."""
import argparse
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mil_seg.launch import (TEST_SECTIONS, MissingFileError, UserError,
                            add_common_arguments, add_random_state_hook,
                            enable_amp, load_config, load_evaluation_config,
                            missing_files)

CONFIG = """default_scope = {scope!r}
model = dict(type='EncoderDecoder')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
"""

needs_no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the CPU-only behaviour')


def write_config(tmp_path, text=None, scope='mmseg') -> str:
    path = tmp_path / 'tiny_config.py'
    path.write_text(CONFIG.format(scope=scope) if text is None else text)
    return str(path)


def parse(*argv: str, checkpoint: bool = False) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_common_arguments(parser)
    if checkpoint:
        parser.add_argument('checkpoint')
    return parser.parse_args(list(argv))


@pytest.fixture(autouse=True)
def no_local_rank(monkeypatch):
    """No ``LOCAL_RANK`` during each test, and the test process's own
    value (or none) after it: ``load_config`` sets it, as torchrun would,
    and a value left behind would reach every later process the worker
    starts."""
    monkeypatch.setenv('LOCAL_RANK', 'placeholder')  # restored afterwards
    monkeypatch.delenv('LOCAL_RANK')


def test_overrides_work_dir_and_local_rank(tmp_path, no_local_rank):
    config = write_config(tmp_path)
    cfg = load_config(
        parse(config, '--local-rank', '3', '--cfg-options',
              'model.type=CascadeEncoderDecoder'))
    assert cfg.model.type == 'CascadeEncoderDecoder'
    assert cfg.launcher == 'none'
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_config')
    assert os.environ['LOCAL_RANK'] == '3'
    cfg = load_config(parse(config, '--work-dir', str(tmp_path / 'work')))
    assert cfg.work_dir == str(tmp_path / 'work')


def test_missing_config_files_are_missing_file_errors(tmp_path):
    with pytest.raises(MissingFileError, match='config file not found'):
        load_config(parse(str(tmp_path / 'nope.py')))
    config = write_config(tmp_path, "_base_ = ['nope_base.py']\n")
    with pytest.raises(FileNotFoundError,
                       match='refers to a missing file.*_base_'):
        load_config(parse(config))


def test_unimportable_module_and_other_scope_are_user_errors(tmp_path):
    config = write_config(
        tmp_path, "default_scope = 'mmseg'\n"
        "custom_imports = dict(imports=['surely_not_a_module_mil_seg'])\n")
    with pytest.raises(UserError, match='check `custom_imports`'):
        load_config(parse(config))
    with pytest.raises(UserError, match="default_scope='mmdet'"):
        load_config(parse(write_config(tmp_path, scope='mmdet')))


@needs_no_cuda
def test_distributed_config_without_cuda_uses_gloo_and_cpu_ddp(tmp_path):
    config = write_config(tmp_path)
    cfg = load_config(parse(config, '--launcher', 'pytorch'))
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.type == 'CPUDistributedDataParallel'
    cfg = load_config(
        parse(config, '--launcher', 'pytorch', '--cfg-options',
              'model_wrapper_cfg.type=MyWrapper'))
    assert cfg.model_wrapper_cfg.type == 'MyWrapper'  # the user's choice


def test_evaluation_config_loads_its_checkpoint(tmp_path):
    config = write_config(tmp_path)
    missing = str(tmp_path / 'nope.pth')
    cfg = load_evaluation_config(parse(config, missing, checkpoint=True))
    assert cfg.load_from == missing
    # checked with the test run's other files (mil_seg.launch.check_files)
    assert [(file.key, file.path) for file in missing_files(
        cfg, TEST_SECTIONS)] == [('load_from', missing)]
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')
    cfg = load_evaluation_config(
        parse(config, str(checkpoint), checkpoint=True))
    assert cfg.load_from == str(checkpoint)
    assert missing_files(cfg, TEST_SECTIONS) == []


@needs_no_cuda
def test_amp_without_an_accelerator_is_a_user_error(tmp_path):
    cfg = Config.fromfile(write_config(tmp_path))
    with pytest.raises(UserError, match='--amp needs a GPU'):
        enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'OptimWrapper'


def test_random_state_hook_is_added_once_unless_switched_off():
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    add_random_state_hook(cfg)
    add_random_state_hook(cfg)
    assert [hook['type'] for hook in cfg.custom_hooks] == [
        'EMAHook', 'RandomStateHook'
    ]
    cfg = Config(dict(resume_random_state=False))
    add_random_state_hook(cfg)
    assert 'custom_hooks' not in cfg
