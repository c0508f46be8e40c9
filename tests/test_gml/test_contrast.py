"""ContrastiveBranch: the contrast step both adapters share. The batch's
keys are pushed before the queue is read; the whole queue is embedded by
the passed projector, else the key projector, else the branch's own; both
sides come out L2-normalised."""
import torch
import torch.nn.functional as F

from mil_seg.gml.contrast import ContrastiveBranch, build_projector

NUM_CLASSES = 3
IN_CHANNELS = 6
EMBED_DIM = 4


def branch(**kwargs):
    torch.manual_seed(0)
    return ContrastiveBranch(
        NUM_CLASSES,
        IN_CHANNELS,
        embed_dim=EMBED_DIM,
        queue=dict(size=12, base_size=2),
        **kwargs)


def step(contrast, key_channels=IN_CHANNELS, **kwargs):
    generator = torch.Generator().manual_seed(1)
    query = torch.randn(4, IN_CHANNELS, generator=generator)
    keys = torch.randn(3, key_channels, generator=generator)
    out = contrast(
        query.requires_grad_(),
        torch.tensor([0, 1, 2, 0]),
        keys,
        torch.tensor([0, 1, 2]),
        query_ids=torch.arange(4),
        key_ids=torch.tensor([10, 11, 12]),
        **kwargs)
    return query, keys, out


def test_build_projector_is_a_two_layer_mlp_without_norm():
    projector = build_projector(6, 5, 4)
    assert [type(m) for m in projector] == [
        torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear
    ]
    assert projector(torch.randn(2, 6)).shape == (2, 4)


def test_keys_are_pushed_before_the_queue_is_read():
    contrast = branch()
    assert not contrast.queue.valid_mask().any()
    _, keys, out = step(contrast)
    # this step's keys are already among the returned keys, detached
    filled = out['key_mask']
    assert int(filled.sum()) == 3
    assert sorted(out['key_ids'][filled].tolist()) == [10, 11, 12]
    assert sorted(out['key_labels'][filled].tolist()) == [0, 1, 2]
    stored = contrast.queue.get()[0][filled]
    assert not stored.requires_grad
    order = out['key_ids'][filled].argsort()
    torch.testing.assert_close(stored[order], keys)
    assert out['query_labels'].tolist() == [0, 1, 2, 0]
    assert out['query_ids'].tolist() == [0, 1, 2, 3]


def test_both_sides_are_normalised_and_keys_use_own_projector():
    contrast = branch()
    query, _, out = step(contrast)
    assert out['query'].shape == (4, EMBED_DIM)
    assert out['keys'].shape == (contrast.queue.size, EMBED_DIM)
    torch.testing.assert_close(out['query'].norm(dim=1), torch.ones(4))
    torch.testing.assert_close(out['keys'].norm(dim=1),
                               torch.ones(contrast.queue.size))
    torch.testing.assert_close(out['query'],
                               F.normalize(contrast.projector(query), dim=1))
    # segmentation's single stage: the whole queue (empty slots included)
    # through the branch's own projector
    queue_features = contrast.queue.get()[0]
    torch.testing.assert_close(
        out['keys'], F.normalize(contrast.projector(queue_features), dim=1))
    assert contrast.key_projector is None


def test_keys_use_the_passed_projector_first():
    contrast = branch()
    momentum = build_projector(IN_CHANNELS, IN_CHANNELS, EMBED_DIM)
    _, _, out = step(contrast, key_projector=momentum)
    queue_features = contrast.queue.get()[0]
    torch.testing.assert_close(
        out['keys'], F.normalize(momentum(queue_features), dim=1))


def test_teacher_keys_use_the_key_projector():
    contrast = branch(key_in_channels=10)
    assert contrast.key_projector is not None
    assert contrast.queue.features.shape[1] == 10
    _, _, out = step(contrast, key_channels=10)
    queue_features = contrast.queue.get()[0]
    torch.testing.assert_close(
        out['keys'],
        F.normalize(contrast.key_projector(queue_features), dim=1))
    # a projector passed in still comes first
    momentum = build_projector(10, 10, EMBED_DIM)
    _, _, out = step(contrast, key_channels=10, key_projector=momentum)
    torch.testing.assert_close(
        out['keys'],
        F.normalize(momentum(contrast.queue.get()[0]), dim=1))


def test_without_query_ids_no_key_ids_are_returned():
    contrast = branch()
    out = contrast(
        torch.randn(2, IN_CHANNELS), torch.tensor([0, 1]),
        torch.randn(2, IN_CHANNELS), torch.tensor([0, 1]))
    assert out['query_ids'] is None and out['key_ids'] is None
    assert int(out['key_mask'].sum()) == 2
