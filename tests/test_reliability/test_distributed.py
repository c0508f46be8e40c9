"""Data parallelism on CPUs (gloo).

``tools/dist_train.sh`` with 2 CPU processes, on a segmentation config
(SyncBN everywhere) and on a classification config: after every training
step both ranks hold the same class-balanced queue, prior, temperature and
(BN statistics or momentum key encoder), the queue holds the keys of both
ranks' batches, and the checkpoints hold both ranks' random states; a
run resumed in two processes continues exactly (every step's state, the
final checkpoint).

And, in-process workers of ``dist_queue_worker.py``: every rank holds the
same queue, equal to one process holding the concatenated batch; SyncBN
works on CPU tensors."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from mil_seg.seg.models.pixel_contrast import (IMAGES_PER_RANK_STEP,
                                               PIXELS_PER_IMAGE)
from ..tool_runner import (CLS_EMA, DEMO_GML, ROOT, cls_options, free_port,
                           run_command, run_dist_train, small_seg_options,
                           tool_env, tool_python, write_image_folders)

HERE = osp.dirname(osp.abspath(__file__))
WORKER = osp.join(HERE, 'dist_queue_worker.py')

SEG_CONFIG = f'''_base_ = [{DEMO_GML!r}]
custom_imports = dict(
    imports=['mil_seg', 'queue_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='QueueProbeHook')]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(decoder=dict(norm_cfg=norm_cfg)))
'''

CLS_CONFIG = f'''_base_ = [{CLS_EMA!r}]
custom_imports = dict(
    imports=['mil_seg', 'queue_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='ClassCountsHook'), dict(type='ClsQueueProbeHook')]
'''


def dist_train(root, config_text: str, options: list,
               work: str = 'work') -> tuple:
    """``tools/dist_train.sh`` with 2 processes; the probe hooks of
    ``queue_probe.py`` (this folder) log every step of each rank."""
    config = root / 'probe_config.py'
    config.write_text(config_text)
    work_dir = root / work
    result = run_dist_train(config, work_dir, options, PYTHONPATH=HERE)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    ranks = []
    for rank in range(2):
        with open(osp.join(work_dir, f'probe_rank{rank}.jsonl')) as f:
            ranks.append([json.loads(line) for line in f])
    return work_dir, ranks


@pytest.fixture(scope='module')
def seg_dist_run(synthetic_root, tmp_path_factory):
    """The SyncBN demo, 4 iterations."""
    return dist_train(tmp_path_factory.mktemp('seg_dist'), SEG_CONFIG,
                      small_seg_options(synthetic_root, 4))


def cls_dist_options(data_root: str) -> list:
    """2 epochs of 21 images, batch 4 per rank: 3 steps an epoch, the last
    one uneven."""
    return cls_options(data_root, 2, 'train_dataloader.batch_size=4',
                       'model.head.queue.size=40')


@pytest.fixture(scope='module')
def cls_dist_run(tmp_path_factory):
    """The EMA config, :func:`cls_dist_options`."""
    root = tmp_path_factory.mktemp('cls_dist')
    data_root = write_image_folders(str(root / 'data'))
    return dist_train(root, CLS_CONFIG, cls_dist_options(data_root))


DIST_RUNS = dict(
    seg=dict(fixture='seg_dist_run', iters=[1, 2, 3, 4],
             checkpoints=['iter_4.pth']),
    cls=dict(fixture='cls_dist_run', iters=[1, 2, 3, 4, 5, 6],
             checkpoints=['epoch_1.pth', 'epoch_2.pth']))


@pytest.mark.parametrize('task', [
    pytest.param('seg', marks=pytest.mark.xdist_group('seg_dist_train')),
    pytest.param('cls', marks=pytest.mark.xdist_group('cls_dist_train'))
])
def test_dist_train_two_cpu_processes_keep_ranks_identical(request, task):
    spec = DIST_RUNS[task]
    work_dir, (rank0, rank1) = request.getfixturevalue(spec['fixture'])
    assert [state['iter'] for state in rank0] == spec['iters']
    # every step: the same state on both ranks (the ranks' own batches
    # aside)
    for step0, step1 in zip(rank0, rank1):
        shared0 = {k: v for k, v in step0.items() if k != 'batch_ids'}
        shared1 = {k: v for k, v in step1.items() if k != 'batch_ids'}
        assert shared0 == shared1, step0['iter']
    # both ranks' keys are in the queue (gathered), and it keeps filling
    pushed = [state['num_pushed'] for state in rank0]
    assert pushed == sorted(pushed) and pushed[0] > 0
    for name in spec['checkpoints']:
        checkpoint = torch.load(work_dir / name, map_location='cpu')
        assert len(checkpoint['random_states']) == 2, name
    if task == 'seg':
        assert rank0 == rank1
        assert rank0[0]['sync_bn'] == 'CPUSyncBatchNorm'


@pytest.fixture(scope='module')
def seg_dist_resumed(seg_dist_run, synthetic_root):
    """The run of ``seg_dist_run`` interrupted after iteration 2: a new run
    in two processes resumed from its ``iter_2.pth``, to iteration 4."""
    work_dir = seg_dist_run[0]
    return dist_train(
        work_dir.parent, SEG_CONFIG,
        ['--resume', str(work_dir / 'iter_2.pth'),
         *small_seg_options(synthetic_root, 4)], work='resumed')


@pytest.fixture(scope='module')
def cls_dist_resumed(cls_dist_run):
    """The run of ``cls_dist_run`` resumed from its ``epoch_1.pth``."""
    work_dir = cls_dist_run[0]
    return dist_train(
        work_dir.parent, CLS_CONFIG,
        ['--resume', str(work_dir / 'epoch_1.pth'),
         *cls_dist_options(str(work_dir.parent / 'data'))], work='resumed')


DIST_RESUMES = dict(
    seg=dict(fixtures=('seg_dist_run', 'seg_dist_resumed'),
             checkpoint='iter_4.pth', resumed_iters=[3, 4]),
    cls=dict(fixtures=('cls_dist_run', 'cls_dist_resumed'),
             checkpoint='epoch_2.pth', resumed_iters=[4, 5, 6]))


@pytest.mark.parametrize('task', [
    pytest.param('seg', marks=pytest.mark.xdist_group('seg_dist_train')),
    pytest.param('cls', marks=pytest.mark.xdist_group('cls_dist_train'))
])
def test_two_process_resume_equals_the_uninterrupted_run(request, task):
    """Resumed in two processes, every step after the resume holds the
    uninterrupted run's state on each rank, and the final checkpoint is
    the same in every tensor (optimizer and both ranks' generators too)."""
    spec = DIST_RESUMES[task]
    (full_dir, full_ranks), (resumed_dir, resumed_ranks) = (
        request.getfixturevalue(name) for name in spec['fixtures'])
    for full, resumed in zip(full_ranks, resumed_ranks):
        assert [s['iter'] for s in resumed] == spec['resumed_iters']
        assert resumed == full[-len(resumed):]
    full, resumed = (torch.load(path / spec['checkpoint'], map_location='cpu')
                     for path in (full_dir, resumed_dir))
    for key, value in full['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    for index, state in full['optimizer']['state'].items():
        for name, value in state.items():
            if torch.is_tensor(value):
                assert torch.equal(
                    value, resumed['optimizer']['state'][index][name])
    assert len(full['random_states']) == 2
    for left, right in zip(full['random_states'], resumed['random_states']):
        assert torch.equal(left['torch'], right['torch'])


@pytest.mark.xdist_group('cls_dist_train')
def test_cls_queue_holds_both_ranks_keys(cls_dist_run):
    _, (rank0, rank1) = cls_dist_run
    # the ranks train on different images ...
    for step0, step1 in zip(rank0, rank1):
        assert not set(step0['batch_ids']) & set(step1['batch_ids'])
    # ... and the first step pushes the keys of both (gathered)
    first = rank0[0]
    both = set(rank0[0]['batch_ids']) | set(rank1[0]['batch_ids'])
    assert set(first['queue_ids']) == both
    assert first['num_pushed'] == len(both)


# ---------------------------------------------------------- --launcher slurm
def srun_environment(rank: int, port: int) -> dict:
    """What ``srun --ntasks=2`` on one node sets for task ``rank`` (and
    none of torchrun's variables)."""
    env = tool_env(
        PYTHONPATH=os.pathsep.join([ROOT, HERE]),
        SLURM_PROCID=str(rank),
        SLURM_LOCALID=str(rank),
        SLURM_NTASKS='2',
        SLURM_NTASKS_PER_NODE='2',
        SLURM_NNODES='1',
        SLURM_NODELIST='localhost',
        SLURM_JOB_NODELIST='localhost',
        SLURM_JOB_ID='4242',
        MASTER_PORT=str(port))
    for name in ('MASTER_ADDR', 'RANK', 'WORLD_SIZE', 'LOCAL_RANK'):
        env.pop(name, None)
    return env


@pytest.mark.xdist_group('slurm_train')
def test_slurm_launcher_maps_the_srun_environment_to_ranks(
        synthetic_root, tmp_path):
    """Two processes of ``tools/train.py --launcher slurm`` with srun's
    environment and no Slurm installed form one 2-rank job."""
    config = tmp_path / 'probe_config.py'
    config.write_text(SEG_CONFIG)
    work_dir = tmp_path / 'work'
    port = free_port()
    processes = [
        subprocess.Popen(
            [
                tool_python(), 'tools/train.py',
                str(config), '--launcher', 'slurm', '--work-dir',
                str(work_dir), *small_seg_options(synthetic_root, 2)
            ],
            cwd=ROOT,
            env=srun_environment(rank, port),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True) for rank in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    ranks = []
    for rank in range(2):
        with open(work_dir / f'probe_rank{rank}.jsonl') as f:
            ranks.append([json.loads(line) for line in f])
    assert [state['iter'] for state in ranks[0]] == [1, 2]
    assert ranks[0] == ranks[1]  # one job: synchronised BN, queue, prior
    assert ranks[0][0]['sync_bn'] == 'CPUSyncBatchNorm'
    checkpoint = torch.load(work_dir / 'iter_2.pth', map_location='cpu')
    assert len(checkpoint['random_states']) == 2


# ------------------------------------------- in-process gloo queue workers
@pytest.fixture(scope='module')
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist_queue')
    for mode in (str(free_port()), 'single'):
        result = run_command([sys.executable, WORKER, str(out), mode],
                             timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    return {
        name: torch.load(out / f'{name}.pt')
        for name in ('rank0', 'rank1', 'single')
    }


def canonical_keys(sample_ids: torch.Tensor, world_size: int) -> torch.Tensor:
    """(step, image of the whole batch, pixel) from a GMLHead anchor id."""
    image_id, pixel = sample_ids // PIXELS_PER_IMAGE, \
        sample_ids % PIXELS_PER_IMAGE
    slot, index = image_id // IMAGES_PER_RANK_STEP, \
        image_id % IMAGES_PER_RANK_STEP
    step, rank = slot // world_size, slot % world_size
    image = rank * (4 // world_size) + index
    return (step * 100 + image) * PIXELS_PER_IMAGE + pixel


@pytest.mark.xdist_group('dist_queue')
def test_ranks_hold_identical_queues_after_every_step(results):
    for step0, step1 in zip(results['rank0']['queue'],
                            results['rank1']['queue']):
        for name in step0:
            assert torch.equal(step0[name], step1[name]), name


@pytest.mark.xdist_group('dist_queue')
def test_queue_equals_one_process_with_concatenated_batch(results):
    for step, (dist, single) in enumerate(
            zip(results['rank0']['queue'], results['single']['queue'])):
        for name in ('labels', 'slot_start', 'slot_size', 'pointer',
                     'num_pushed'):
            assert torch.equal(dist[name], single[name]), (step, name)
        valid = dist['sample_ids'] >= 0
        assert torch.equal(valid, single['sample_ids'] >= 0)
        assert valid.sum() > 0
        # the same pixels (ids encode the rank, so compare them as
        # (step, image, pixel)); anchor order within an image's class is
        # random, hence sorted
        dist_keys = canonical_keys(dist['sample_ids'][valid], 2)
        single_keys = canonical_keys(single['sample_ids'][valid], 1)
        dist_order, single_order = dist_keys.argsort(), single_keys.argsort()
        assert torch.equal(dist_keys[dist_order], single_keys[single_order])
        # features: SyncBN statistics summed in another order (float32)
        torch.testing.assert_close(
            dist['features'][valid][dist_order],
            single['features'][valid][single_order],
            rtol=1e-5,
            atol=1e-5)
        torch.testing.assert_close(dist['bn_running_mean'],
                                   single['bn_running_mean'])


@pytest.mark.xdist_group('dist_queue')
def test_cpu_sync_bn_equals_batch_norm_on_concatenated_batch(results):
    parts = [results[f'rank{rank}']['sync_bn'] for rank in range(2)]
    single = results['single']['sync_bn']
    assert parts[0]['type'] == 'CPUSyncBatchNorm'
    for name in ('output', 'grad'):
        torch.testing.assert_close(
            torch.cat([part[name] for part in parts]),
            single[name],
            rtol=1e-5,
            atol=1e-5)
    for part in parts:
        torch.testing.assert_close(part['running_var'], single['running_var'])
