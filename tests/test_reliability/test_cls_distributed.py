"""``tools/dist_train.sh`` on a classification config with 2 CPU processes
(gloo): after every training step both ranks hold the same class-balanced
queue (features, owners, sample ids, ring pointers, write counts), prior,
temperature and momentum key encoder, and the queue holds the keys of both
ranks' batches."""
import json
import os.path as osp
import sys

import pytest
import torch

from .conftest import ROOT, run_command
from .test_cls_resume import EMA, cls_options, write_image_folders
from .test_distributed import free_port

# A test-only hook, imported by the config below (``custom_imports``) from
# the test's folder: after every step each rank appends the hashes of its
# GML state to ``<work_dir>/cls_probe_rank<rank>.jsonl``.
PROBE = '''
import hashlib
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def digest(tensor):
    return hashlib.sha1(
        tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


@HOOKS.register_module()
class ClsQueueProbeHook(Hook):

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = model.head
        state = {f'queue.{name}': digest(buffer)
                 for name, buffer in head.contrast.queue.named_buffers()}
        state['prior.counts'] = digest(head.prior.counts)
        state['log_temperature'] = digest(head.loss_gml.log_temperature)
        state['fc'] = digest(head.fc.weight)
        state['key_encoder'] = digest(
            model.key_encoder.module.backbone.conv1.weight)
        state['num_pushed'] = int(head.contrast.queue.num_pushed.sum())
        state['queue_ids'] = sorted(
            int(i) for i in head.contrast.queue.sample_ids if i >= 0)
        state['batch_ids'] = [
            int(s.metainfo['sample_idx']) for s in data_batch['data_samples']
        ]
        state['iter'] = runner.iter + 1
        path = osp.join(runner.work_dir, f'cls_probe_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(state) + '\\n')
'''

CONFIG = f'''_base_ = [{EMA!r}]
custom_imports = dict(
    imports=['mil_seg', 'cls_queue_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='ClassCountsHook'), dict(type='ClsQueueProbeHook')]
'''


def read_probe(work_dir, rank):
    with open(osp.join(work_dir, f'cls_probe_rank{rank}.jsonl')) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('cls_dist')
    data_root = write_image_folders(str(root / 'data'))
    (root / 'cls_queue_probe.py').write_text(PROBE)
    config = root / 'gml_ema_probe.py'
    config.write_text(CONFIG)
    work_dir = root / 'work'
    # 21 images, batch 4 per rank: 3 steps an epoch, the last one uneven
    result = run_command(
        [
            'bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
            '2', '--work-dir', str(work_dir),
            *cls_options(data_root, 2, 'train_dataloader.batch_size=4',
                         'model.head.queue.size=40')
        ],
        timeout=600,
        PYTHON=sys.executable,
        PORT=str(free_port()),
        PYTHONPATH=str(root))
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    return work_dir, [read_probe(work_dir, rank) for rank in range(2)]


def test_ranks_hold_identical_cls_queue_after_every_step(dist_run):
    _, (rank0, rank1) = dist_run
    assert [state['iter'] for state in rank0] == [1, 2, 3, 4, 5, 6]
    for step0, step1 in zip(rank0, rank1):
        shared0 = {k: v for k, v in step0.items() if k != 'batch_ids'}
        shared1 = {k: v for k, v in step1.items() if k != 'batch_ids'}
        assert shared0 == shared1, step0['iter']


def test_queue_holds_both_ranks_keys(dist_run):
    _, (rank0, rank1) = dist_run
    # the ranks train on different images ...
    for step0, step1 in zip(rank0, rank1):
        assert not set(step0['batch_ids']) & set(step1['batch_ids'])
    # ... and the first step pushes the keys of both (gathered)
    first = rank0[0]
    both = set(rank0[0]['batch_ids']) | set(rank1[0]['batch_ids'])
    assert set(first['queue_ids']) == both
    assert first['num_pushed'] == len(both)
    pushed = [state['num_pushed'] for state in rank0]
    assert pushed == sorted(pushed)


def test_checkpoint_holds_both_ranks_random_states(dist_run):
    work_dir, _ = dist_run
    for name in ('epoch_1.pth', 'epoch_2.pth'):
        checkpoint = torch.load(work_dir / name, map_location='cpu')
        states = checkpoint['random_states']
        assert len(states) == 2, name
