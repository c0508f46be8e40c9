"""``mil_seg.launch.run_guarded``: a finished distributed run leaves no
process group behind; a failed one does not wait for the other ranks."""
import pytest
import torch.distributed as torch_dist

from mil_seg.launch import UserConfigError, run_guarded
from .test_reliability.test_distributed import free_port


@pytest.fixture
def gloo_group():
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
        world_size=1)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_normal_end_destroys_the_process_group(gloo_group):
    assert torch_dist.is_initialized()
    assert run_guarded(lambda: 7) == 7
    assert not torch_dist.is_initialized()


def test_user_error_keeps_the_process_group(gloo_group, capsys):

    def fail():
        raise UserConfigError('set data_root')

    with pytest.raises(SystemExit) as exit_info:
        run_guarded(fail)
    assert exit_info.value.code == 2
    assert 'error: set data_root' in capsys.readouterr().err
    assert torch_dist.is_initialized()


def test_without_a_process_group_nothing_happens():
    assert not torch_dist.is_initialized()
    assert run_guarded(lambda: 'done') == 'done'
