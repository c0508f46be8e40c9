"""Tests of mil_seg.gml.ClassBalancedQueue."""
import io

import pytest
import torch

import mil_seg.gml.queue as queue_module
from mil_seg.gml import ClassBalancedQueue, ClassPrior

torch.set_num_threads(1)


def class_slots(queue, c):
    start = int(queue.slot_start[c])
    return slice(start, start + int(queue.slot_size[c]))


def test_slots_sum_to_size_floor_and_follow_prior():
    counts = [5000, 1200, 300, 60, 10, 1, 0]
    queue = ClassBalancedQueue(7, size=203, dim=4, base_size=3,
                               prior=dict(counts=counts, smoothing=0.0))
    sizes = queue.slot_size
    assert int(sizes.sum()) == 203
    assert (sizes >= 3).all()
    # head to tail: non-increasing, head much larger than tail
    assert (sizes[:-1] >= sizes[1:]).all()
    assert sizes[0] > 10 * sizes[-1]
    # largest remainder of base + (203 - 21) * pi: within one slot of ideal
    probs = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    ideal = 3 + (203 - 21) * probs
    assert ((sizes.double() - ideal).abs() < 1).all()
    # contiguous layout, slot owners match
    assert torch.equal(queue.slot_start,
                       torch.cumsum(sizes, 0) - sizes)
    assert torch.equal(queue.labels,
                       torch.repeat_interleave(torch.arange(7), sizes))
    # a built ClassPrior gives the same layout as its config
    from_prior = ClassBalancedQueue(
        7, 203, 4, 3, prior=ClassPrior(7, counts=counts, smoothing=0))
    assert torch.equal(from_prior.slot_size, sizes)
    # counts alone are a (smoothed) prior: the zero-count class gains mass
    smoothed = ClassBalancedQueue(7, 203, 4, 3, prior=counts)
    assert int(smoothed.slot_size.sum()) == 203
    # uniform when no prior is given; remainders to the lowest classes
    uniform = ClassBalancedQueue(4, 10, 2, base_size=1)
    assert uniform.slot_size.tolist() == [3, 3, 2, 2]


def test_too_small_queue_and_bad_prior_raise():
    with pytest.raises(ValueError, match='increase size'):
        ClassBalancedQueue(10, size=19, dim=4, base_size=2)
    with pytest.raises(ValueError, match='has 2 classes but num_classes=3'):
        ClassBalancedQueue(3, size=10, dim=4, prior=[1, 2])
    with pytest.raises(ValueError, match='non-negative'):
        ClassBalancedQueue(2, size=10, dim=4, prior=[1, -2])


def test_push_dim_mismatch_raises():
    queue = ClassBalancedQueue(3, size=9, dim=4, base_size=1)
    with pytest.raises(ValueError, match=r'dim \(5,\).*dim 4'):
        queue.push(torch.zeros(2, 5), torch.tensor([0, 1]))


def test_fifo_order_per_class_over_several_pushes():
    queue = ClassBalancedQueue(2, size=7, dim=1, base_size=1,
                               prior=dict(counts=[3, 1], smoothing=0.0))
    sizes = queue.slot_size.tolist()
    assert sizes == [5, 2]
    # reference: one Python ring per class
    rings = {c: [-1] * sizes[c] for c in (0, 1)}
    pointers = {0: 0, 1: 0}
    written = {0: 0, 1: 0}
    most_in_one_push = {0: 0, 1: 0}
    next_id = 0
    generator = torch.Generator().manual_seed(0)
    for step in range(6):
        labels = torch.randint(0, 2, (4, ), generator=generator)
        ids = torch.arange(next_id, next_id + 4)
        next_id += 4
        queue.push(ids[:, None].float(), labels, ids)
        for c in (0, 1):
            items = ids[labels == c].tolist()
            most_in_one_push[c] = max(most_in_one_push[c], len(items))
            for sample in items[len(items) - min(len(items), sizes[c]):]:
                rings[c][pointers[c]] = sample
                pointers[c] = (pointers[c] + 1) % sizes[c]
                written[c] += 1
            ring = queue.sample_ids[class_slots(queue, c)].tolist()
            assert ring == rings[c], (step, c)
            assert int(queue.pointer[c]) == pointers[c]
            assert int(queue.num_pushed[c]) == written[c]
        features, labels_q, ids_q, valid = queue.get()
        assert torch.equal(features[:, 0].long()[valid], ids_q[valid])
        assert torch.equal(valid, ids_q >= 0)
    # the data covers a push with more class-1 items than class-1 slots and
    # several wraps of both rings
    assert most_in_one_push[1] > sizes[1]
    assert written[0] > sizes[0] and written[1] > 2 * sizes[1]


def test_write_cap_keeps_newest_items():
    queue = ClassBalancedQueue(2, size=10, dim=2, base_size=5,
                               max_writes_per_class=2)
    labels = torch.tensor([0, 0, 1, 0, 0, 1, 1])
    ids = torch.arange(7)
    queue.push(torch.randn(7, 2), labels, ids)
    assert queue.num_pushed.tolist() == [2, 2]
    assert queue.sample_ids[:5].tolist() == [3, 4, -1, -1, -1]
    assert queue.sample_ids[5:].tolist() == [5, 6, -1, -1, -1]
    # without a cap the ring size caps the writes: 7 items of a class with
    # 5 slots keep the 5 newest
    queue = ClassBalancedQueue(2, size=10, dim=2, base_size=5)
    queue.push(torch.randn(7, 2), torch.zeros(7, dtype=torch.long), ids)
    assert queue.sample_ids[:5].tolist() == [2, 3, 4, 5, 6]
    assert queue.pointer.tolist() == [0, 0]


def test_features_are_detached_float32_copies():
    queue = ClassBalancedQueue(2, size=4, dim=3, base_size=2)
    features = torch.randn(2, 3, requires_grad=True)
    queue.push(features.half(), torch.tensor([1, 0]), torch.tensor([8, 9]))
    assert queue.features.dtype == torch.float32
    assert not queue.features.requires_grad
    torch.testing.assert_close(queue.features[[2, 0]],
                               features.detach().half().float())


def test_state_dict_round_trip_restores_exactly():
    queue = ClassBalancedQueue(3, size=12, dim=4, base_size=2,
                               prior=dict(counts=[10, 3, 1], smoothing=0.0))
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):
        queue.push(
            torch.randn(5, 4, generator=generator),
            torch.randint(0, 3, (5, ), generator=generator),
            torch.randint(0, 100, (5, ), generator=generator))
    buffer = io.BytesIO()
    torch.save(queue.state_dict(), buffer)
    buffer.seek(0)
    fresh = ClassBalancedQueue(3, size=12, dim=4, base_size=2)  # uniform
    assert not torch.equal(fresh.slot_size, queue.slot_size)
    fresh.load_state_dict(torch.load(buffer))
    names = {'features', 'labels', 'sample_ids', 'slot_start', 'slot_size',
             'pointer', 'num_pushed'}
    assert set(queue.state_dict()) == names
    for name in names:
        assert torch.equal(getattr(fresh, name), getattr(queue, name)), name
    assert torch.equal(fresh.valid_mask(), queue.valid_mask())
    # and they keep evolving identically
    batch = (torch.randn(4, 4), torch.tensor([2, 2, 0, 1]), torch.arange(4))
    queue.push(*batch)
    fresh.push(*batch)
    for name in names:
        assert torch.equal(getattr(fresh, name), getattr(queue, name)), name


def test_allocate_recomputes_and_clears():
    queue = ClassBalancedQueue(2, size=8, dim=2, base_size=1)
    queue.push(torch.randn(3, 2), torch.tensor([0, 1, 1]), torch.arange(3))
    queue.allocate(dict(counts=[7, 1], smoothing=0.0))
    assert queue.slot_size.tolist() == [6, 2]
    assert not queue.valid_mask().any()
    assert (queue.sample_ids == -1).all() and (queue.num_pushed == 0).all()


def test_empty_queue_follows_its_prior_once_it_has_counts():
    """A prior filled after the queue was built (the class counts hook, an
    online prior's first update) lays out the queue at its first push; a
    queue that holds keys keeps its layout, also after a checkpoint."""
    prior = ClassPrior(2, mode='online', smoothing=0.0)
    queue = ClassBalancedQueue(2, size=8, dim=2, base_size=1, prior=prior)
    assert queue.prior is prior
    assert 'prior.counts' not in queue.state_dict()  # the owner's state
    assert queue.slot_size.tolist() == [4, 4]  # empty prior: uniform
    prior.set_counts([5, 1])  # 6 free slots: 5 and 1
    assert queue.slot_size.tolist() == [4, 4]  # nothing pushed: unchanged
    queue.push(torch.randn(3, 2), torch.tensor([0, 1, 1]), torch.arange(3))
    assert queue.slot_size.tolist() == [6, 2]
    assert queue.slot_start.tolist() == [0, 6]
    assert queue.num_pushed.tolist() == [1, 2]
    prior.set_counts([1, 5])  # holds keys: the layout stays
    queue.push(torch.randn(1, 2), torch.tensor([1]), torch.arange(1))
    assert queue.slot_size.tolist() == [6, 2]
    restored = ClassBalancedQueue(2, size=8, dim=2, base_size=1,
                                  prior=ClassPrior(2, counts=[1, 5]))
    restored.load_state_dict(queue.state_dict())
    restored.push(torch.randn(1, 2), torch.tensor([0]), torch.arange(1))
    assert restored.slot_size.tolist() == [6, 2]
    restored.reset()  # empty again: the next push follows the prior
    restored.push(torch.randn(1, 2), torch.tensor([0]), torch.arange(1))
    assert restored.slot_size.tolist() == [2, 6]


def test_gather_across_ranks_writes_all_ranks_in_order(monkeypatch):
    """Simulate two ranks with different batch sizes: this rank (0) holds 2
    items, rank 1 holds 3; every rank must write rank 0's then rank 1's."""
    other_rank = (torch.tensor([[7.0], [8.0], [9.0]]), torch.tensor([0, 0,
                                                                     1]),
                  torch.tensor([7, 8, 9]))
    calls = []

    def fake_all_gather(tensor):
        # order of the collectives: sizes, then features, labels, ids
        calls.append(tensor.clone())
        if len(calls) == 1:
            return [tensor, tensor.new_tensor([3])]
        assert tensor.shape[0] == 3  # padded to the largest batch
        return [tensor, other_rank[len(calls) - 2]]

    monkeypatch.setattr(queue_module.dist, 'get_world_size', lambda: 2)
    monkeypatch.setattr(queue_module.dist, 'all_gather', fake_all_gather)
    queue = ClassBalancedQueue(2, size=8, dim=1, base_size=4)
    queue.push(torch.tensor([[1.0], [2.0]]), torch.tensor([0, 1]),
               torch.tensor([1, 2]))
    assert len(calls) == 4
    assert queue.sample_ids[:4].tolist() == [1, 7, 8, -1]
    assert queue.sample_ids[4:].tolist() == [2, 9, -1, -1]
    assert queue.features[:3, 0].tolist() == [1.0, 7.0, 8.0]

    local = ClassBalancedQueue(2, size=8, dim=1, base_size=4,
                               gather_across_ranks=False)
    local.push(torch.tensor([[1.0], [2.0]]), torch.tensor([0, 1]),
               torch.tensor([1, 2]))
    assert local.sample_ids.tolist() == [1, -1, -1, -1, 2, -1, -1, -1]


DISTRIBUTED_SCRIPT = '''
import os, sys
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp


def worker(rank, port, out_dir):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    torch_dist.init_process_group('gloo', rank=rank, world_size=2)
    from mil_seg.gml import ClassBalancedQueue, ClassPrior
    queue = ClassBalancedQueue(2, size=8, dim=1, base_size=4)
    if rank == 0:  # ranks push different batch sizes
        queue.push(torch.tensor([[1.], [2.]]), torch.tensor([0, 1]),
                   torch.tensor([1, 2]))
    else:
        queue.push(torch.tensor([[7.], [8.], [9.]]), torch.tensor([0, 0, 1]),
                   torch.tensor([7, 8, 9]))
    prior = ClassPrior(2, mode='online')
    prior.update(torch.tensor([0] if rank == 0 else [1, 1]))
    torch.save(dict(ids=queue.sample_ids, features=queue.features,
                    counts=prior.counts), os.path.join(out_dir, f'{rank}.pt'))
    torch_dist.destroy_process_group()


if __name__ == '__main__':
    mp.spawn(worker, args=(int(sys.argv[1]), sys.argv[2]), nprocs=2)
'''


def test_two_gloo_ranks_hold_identical_queues(tmp_path):
    """Real two-process run (gloo, CPU): uneven batches are gathered in rank
    order; the online prior sums the counts of both ranks."""
    import socket
    import subprocess
    import sys
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    script = tmp_path / 'run.py'
    script.write_text(DISTRIBUTED_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), str(port), str(tmp_path)],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    states = [torch.load(tmp_path / f'{rank}.pt') for rank in range(2)]
    for state in states:
        assert state['ids'].tolist() == [1, 7, 8, -1, 2, 9, -1, -1]
        assert state['features'][:3, 0].tolist() == [1.0, 7.0, 8.0]
        assert state['counts'].tolist() == [1.0, 2.0]
