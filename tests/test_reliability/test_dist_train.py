"""``tools/dist_train.sh`` with 2 CPU processes (gloo), SyncBN everywhere:
every rank holds the same queue, prior, temperature and BN statistics after
every step, and the checkpoint holds both ranks' random states."""
import json
import os.path as osp
import sys

import torch

from .conftest import DEMO_GML, ROOT, run_command, small_seg_options
from .test_distributed import free_port

PROBE_DIR = osp.dirname(osp.abspath(__file__))

SYNC_BN_CONFIG = f'''_base_ = [{DEMO_GML!r}]
custom_imports = dict(
    imports=['mil_seg', 'queue_probe'], allow_failed_imports=False)
custom_hooks = [dict(type='QueueProbeHook')]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(decoder=dict(norm_cfg=norm_cfg)))
'''


def read_probe(work_dir, rank):
    with open(osp.join(work_dir, f'probe_rank{rank}.jsonl')) as f:
        return [json.loads(line) for line in f]


def test_dist_train_two_cpu_processes_keep_ranks_identical(
        synthetic_root, tmp_path):
    config = tmp_path / 'sync_bn_demo.py'
    config.write_text(SYNC_BN_CONFIG)
    work_dir = tmp_path / 'work'
    result = run_command(
        [
            'bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
            '2', '--work-dir', str(work_dir),
            *small_seg_options(synthetic_root, 4)
        ],
        timeout=600,
        PYTHON=sys.executable,
        PORT=str(free_port()),
        PYTHONPATH=PROBE_DIR)
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    ranks = [read_probe(work_dir, rank) for rank in range(2)]
    assert [state['iter'] for state in ranks[0]] == [1, 2, 3, 4]
    assert ranks[0] == ranks[1]
    assert ranks[0][0]['sync_bn'] == 'CPUSyncBatchNorm'
    # both ranks' anchors are in the queue (gathered), and it keeps filling
    pushed = [state['num_pushed'] for state in ranks[0]]
    assert pushed == sorted(pushed) and pushed[0] > 0
    checkpoint = torch.load(work_dir / 'iter_4.pth', map_location='cpu')
    assert len(checkpoint['random_states']) == 2
