"""``mil_seg.launch.slurm``: Slurm's variables as torch.distributed's.

The end-to-end check (two processes of ``tools/train.py --launcher slurm``
started with the environment srun sets, no Slurm installed) is in
``tests/test_reliability/test_distributed.py``."""
import pytest
from mmengine.config import Config

from mil_seg.launch import UserError
from mil_seg.launch.slurm import (first_host, slurm_environment,
                                  use_slurm_environment)

SRUN = dict(SLURM_PROCID='5', SLURM_NTASKS='8', SLURM_LOCALID='1',
            SLURM_NODELIST='gpu[03-06]')


@pytest.mark.parametrize('nodelist, host', [
    ('localhost', 'localhost'),
    ('node01', 'node01'),
    ('gpu[03-06]', 'gpu03'),
    ('gpu[007,010-012],cpu[1-2]', 'gpu007'),
    ('cpu7,gpu[1-4]', 'cpu7'),
    ('rack[2-3]-node[08-09]', 'rack2-node08'),
    ('n1.cluster.org', 'n1.cluster.org'),
])
def test_first_host_of_a_slurm_host_list(nodelist, host):
    assert first_host(nodelist) == host


@pytest.mark.parametrize('nodelist', ['', 'gpu[01-04', ',node1'])
def test_malformed_host_list_is_a_user_error(nodelist):
    with pytest.raises(UserError, match='not a Slurm host list'):
        first_host(nodelist)


def test_srun_environment_maps_to_torchrun_environment():
    assert slurm_environment(SRUN) == dict(
        RANK='5', WORLD_SIZE='8', LOCAL_RANK='1', MASTER_ADDR='gpu03',
        MASTER_PORT='29500')
    # what the job sets already is kept
    env = slurm_environment(dict(SRUN, MASTER_ADDR='10.0.0.1',
                                 MASTER_PORT='4321'))
    assert (env['MASTER_ADDR'], env['MASTER_PORT']) == ('10.0.0.1', '4321')


def test_local_rank_without_slurm_localid():
    srun = {k: v for k, v in SRUN.items() if k != 'SLURM_LOCALID'}
    assert slurm_environment(
        dict(srun, SLURM_NTASKS_PER_NODE='4(x2)'))['LOCAL_RANK'] == '1'
    assert slurm_environment(srun)['LOCAL_RANK'] == '0'


@pytest.mark.parametrize('change, message', [
    (dict(SLURM_PROCID=''), 'SLURM_PROCID is not set'),
    (dict(SLURM_NTASKS='eight'), 'not valid'),
    (dict(SLURM_PROCID='8'), 'outside the 8 tasks'),
])
def test_bad_slurm_environment_is_a_user_error(change, message):
    with pytest.raises(UserError, match=message):
        slurm_environment(dict(SRUN, **change))


def test_config_starts_from_the_slurm_environment(monkeypatch):
    for name in ('MASTER_ADDR', 'MASTER_PORT', 'RANK', 'WORLD_SIZE',
                 'LOCAL_RANK'):
        # set first, so that the variables the mapping sets are removed
        # again after the test (later tests of this process start groups)
        monkeypatch.setenv(name, 'x')
        monkeypatch.delenv(name)
    for name, value in SRUN.items():
        monkeypatch.setenv(name, value)
    cfg = Config(dict(launcher='slurm',
                      env_cfg=dict(dist_cfg=dict(backend='nccl', port=2345))))
    use_slurm_environment(cfg)
    import os
    assert cfg.launcher == 'pytorch'
    assert cfg.env_cfg.dist_cfg == dict(backend='nccl')
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK'], os.environ['MASTER_ADDR'],
            os.environ['MASTER_PORT']) == ('5', '8', '1', 'gpu03', '2345')
