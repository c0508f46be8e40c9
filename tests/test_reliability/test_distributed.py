"""Data parallelism on CPUs (gloo): every rank holds the same queue, equal to
one process holding the concatenated batch; SyncBN works on CPU tensors."""
import os.path as osp
import socket
import sys

import pytest
import torch

from mil_seg.seg.models.pixel_contrast import (IMAGES_PER_RANK_STEP,
                                              PIXELS_PER_IMAGE)
from .conftest import run_command

WORKER = osp.join(osp.dirname(osp.abspath(__file__)), 'dist_queue_worker.py')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


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


def test_ranks_hold_identical_queues_after_every_step(results):
    for step0, step1 in zip(results['rank0']['queue'],
                            results['rank1']['queue']):
        for name in step0:
            assert torch.equal(step0[name], step1[name]), name


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
