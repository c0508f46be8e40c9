"""``mil_seg.compat.cpu_distributed``: process groups, SyncBN and DDP
without CUDA. Two-process numerics are in
``tests/test_reliability/test_distributed.py``."""
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.registry import MODEL_WRAPPERS, MODELS

from mil_seg.compat import cpu_distributed
from mil_seg.errors import UserError

needs_no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason='the shim applies without CUDA only')


@pytest.fixture
def destroy_group():
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_torchrun_start_up_uses_gloo_for_nccl(destroy_group, tmp_path):
    cpu_distributed._init_dist_pytorch_without_cuda(
        backend='nccl',
        init_method=f'file://{tmp_path}/group',
        rank=0,
        world_size=1)
    assert torch_dist.get_backend() == 'gloo'


def test_other_init_backends_are_a_user_error():
    with pytest.raises(UserError, match="init_backend='mmcv' needs GPUs"):
        cpu_distributed._init_dist_pytorch_without_cuda(init_backend='mmcv')
    assert not torch_dist.is_initialized()


@needs_no_cuda
def test_sync_bn_is_registered_as_the_cpu_capable_class():
    layer = MODELS.build(dict(type='SyncBN', num_features=3))
    assert type(layer).__name__ == 'CPUSyncBatchNorm'
    assert isinstance(layer, torch.nn.SyncBatchNorm)
    assert cpu_distributed.cpu_sync_batch_norm_class() is type(layer)


def test_one_process_sync_bn_is_batch_norm():
    layer = cpu_distributed.cpu_sync_batch_norm_class()(3)
    reference = torch.nn.BatchNorm2d(3)
    inputs = torch.randn(4, 3, 5, 5)
    assert torch.allclose(layer(inputs), reference(inputs), atol=1e-6)
    assert torch.allclose(layer.running_var, reference.running_var)


def test_one_value_per_channel_over_the_group_is_a_user_error(
        destroy_group, monkeypatch, tmp_path):
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/group', rank=0,
        world_size=1)
    layer = cpu_distributed.cpu_sync_batch_norm_class()(3)
    # as in a run of several processes with one value each
    monkeypatch.setattr(layer, '_cpu_group',
                        lambda input: torch_dist.group.WORLD)
    with pytest.raises(UserError, match='use a larger batch or crop'):
        layer(torch.randn(1, 3))


def test_cpu_ddp_wrapper_is_registered_once():
    wrapper = cpu_distributed.register_cpu_ddp_wrapper()
    assert cpu_distributed.register_cpu_ddp_wrapper() is wrapper
    assert MODEL_WRAPPERS.get('CPUDistributedDataParallel') is wrapper
