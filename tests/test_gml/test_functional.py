"""Tests of mil_seg.gml.functional against naive loop references."""
import math

import pytest
import torch
import torch.nn.functional as F

import mil_seg.gml.functional as functional_module
from mil_seg.gml import ClassPrior
from mil_seg.gml.functional import (check_labels, cross_entropy,
                                    distillation_kl, gml_contrastive_terms,
                                    masked_cross_entropy)
from mil_seg.errors import UserError

torch.set_num_threads(1)


def reference_class_scores(similarity, key_labels, num_classes, key_mask):
    """Loop reference in float64: log(mean(exp)) of the used keys per class,
    None where a class has no used key."""
    num_queries, num_keys = similarity.shape
    rows = []
    for n in range(num_queries):
        row = []
        for c in range(num_classes):
            values = [
                similarity[n, j] for j in range(num_keys)
                if key_labels[j] == c and key_mask[n, j]
            ]
            if values:
                stacked = torch.stack(values).double()
                row.append(
                    torch.logsumexp(stacked, 0) - math.log(len(values)))
            else:
                row.append(None)
        rows.append(row)
    return rows


def reference_ce(score_row, log_prior, label):
    """CE over the classes present in the row; None if the target is
    absent."""
    if label < 0 or label >= len(score_row) or score_row[label] is None:
        return None
    present = [
        score_row[c] + log_prior[c].double()
        for c in range(len(score_row)) if score_row[c] is not None
    ]
    return torch.logsumexp(torch.stack(present), 0) - (
        score_row[label] + log_prior[label].double())


def reference_contrastive(query, keys, key_labels, labels, log_prior,
                          log_temperature, query_ids, key_ids, key_mask):
    num_classes = log_temperature.shape[0]
    num_queries, num_keys = query.shape[0], keys.shape[0]
    similarity = torch.stack([
        torch.stack([(query[n].double() * keys[j].double()).sum()
                     for j in range(num_keys)]) for n in range(num_queries)
    ])
    temperature = log_temperature.double().exp()
    key_temperature = torch.stack([temperature[c] for c in key_labels])
    if key_mask is None:
        key_mask = torch.ones(num_queries, num_keys, dtype=torch.bool)
    key_mask = key_mask.expand(num_queries, num_keys)
    con_scores = reference_class_scores(similarity / key_temperature.detach(),
                                        key_labels, num_classes, key_mask)
    temp_mask = key_mask.clone()
    if query_ids is not None:
        for n in range(num_queries):
            for j in range(num_keys):
                if key_ids[j] >= 0 and key_ids[j] == query_ids[n]:
                    temp_mask[n, j] = False
    temp_scores = reference_class_scores(similarity.detach() / key_temperature,
                                         key_labels, num_classes, temp_mask)
    loss_con = [
        reference_ce(con_scores[n], log_prior, int(labels[n]))
        for n in range(num_queries)
    ]
    loss_temp = [
        reference_ce(temp_scores[n], log_prior, int(labels[n]))
        for n in range(num_queries)
    ]
    return loss_con, loss_temp


def make_inputs(seed=0, num_queries=7, num_keys=12, dim=5, num_classes=5):
    generator = torch.Generator().manual_seed(seed)
    query = F.normalize(torch.randn(num_queries, dim, generator=generator), 1)
    keys = F.normalize(torch.randn(num_keys, dim, generator=generator), 1)
    # class 4 has no key at all; class 3 has exactly one key.
    key_labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 0, 1, 3, 2])
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 2])
    # raw frequencies (no smoothing): log_prior is their log
    prior = ClassPrior(
        num_classes,
        counts=torch.randn(num_classes, generator=generator).softmax(0),
        smoothing=0.0)
    log_temperature = (torch.rand(num_classes, generator=generator) * 0.5 +
                       0.1).log()
    # the query with label 3 owns the only class-3 key: with self-exclusion
    # its temperature term becomes invalid.
    query_ids = torch.tensor([0, 1, 2, 3, 4, 5, 6])
    key_ids = torch.tensor([0, 7, 5, 1, 9, 2, 11, -1, 12, 13, 3, 6])
    return (query, keys, key_labels, labels, prior, log_temperature,
            query_ids, key_ids)


@pytest.mark.parametrize('with_ids', [True, False])
@pytest.mark.parametrize('with_mask', [True, False])
def test_contrastive_terms_match_loop_reference(with_ids, with_mask):
    (query, keys, key_labels, labels, prior, log_temperature, query_ids,
     key_ids) = make_inputs()
    key_mask = None
    if with_mask:
        key_mask = torch.ones(12, dtype=torch.bool)
        key_mask[7] = False  # an empty slot
    if not with_ids:
        query_ids = key_ids = None
    weights_con = torch.linspace(0.5, 1.5, 7)
    weights_temp = torch.linspace(1.5, 0.3, 7)

    def run(function):
        q = query.clone().requires_grad_()
        k = keys.clone().requires_grad_()
        t = log_temperature.clone().requires_grad_()
        loss_con, loss_temp, valid_con, valid_temp = function(q, k, t)
        total = (loss_con * weights_con).sum() + (loss_temp *
                                                  weights_temp).sum()
        total.backward()
        return (loss_con.detach(), loss_temp.detach(), valid_con, valid_temp,
                q.grad, k.grad, t.grad)

    def ours(q, k, t):
        terms = gml_contrastive_terms(q, k, key_labels, labels, prior.adjust,
                                      t, query_ids, key_ids, key_mask)
        return (terms['loss_con'], terms['loss_temp'], terms['valid_con'],
                terms['valid_temp'])

    def naive(q, k, t):
        mask = None if key_mask is None else key_mask.expand(7, 12)
        con, temp = reference_contrastive(q, k, key_labels, labels,
                                          prior.log_prior, t, query_ids,
                                          key_ids, mask)
        valid_con = torch.tensor([v is not None for v in con])
        valid_temp = torch.tensor([v is not None for v in temp])
        zero = q.sum().double() * 0 + t.sum().double() * 0
        con = torch.stack([zero if v is None else v for v in con])
        temp = torch.stack([zero if v is None else v for v in temp])
        return con, temp, valid_con, valid_temp

    got = run(ours)
    expected = run(naive)
    # label 4 has no key: invalid in both terms
    assert not got[2][4] and not got[3][4]
    # with ids, query 3 loses the only key of its class in L_con_T only
    assert got[2][3]
    assert bool(got[3][3]) is (not with_ids)
    for name, a, b in zip(
        ['loss_con', 'loss_temp', 'valid_con', 'valid_temp', 'grad_query',
         'grad_keys', 'grad_log_temperature'], got, expected):
        if a.dtype == torch.bool:
            assert torch.equal(a, b), name
        else:
            torch.testing.assert_close(
                a.double(), b.double(), rtol=1e-5, atol=1e-6, msg=name)
    assert (got[0][~got[2]] == 0).all() and (got[1][~got[3]] == 0).all()


NEG_INF = float('-inf')


def dense_reference(query, keys, key_labels, labels, log_prior,
                    log_temperature, con_mask, temp_mask):
    """The two terms written out in float64: dense N x K masks, one class at
    a time, torch's logsumexp, autograd for the gradients.

    ``con_mask`` / ``temp_mask`` (N x K bool) are the keys each query uses
    in ``L_con`` / ``L_con_T``. Returns ``loss_con``, ``loss_temp`` (N, 0
    where invalid) and ``valid_con``, ``valid_temp``.
    """
    num_classes = log_temperature.shape[0]
    log_t = log_temperature.double().clamp(functional_module.
                                           MIN_LOG_TEMPERATURE,
                                           functional_module.
                                           MAX_LOG_TEMPERATURE)
    similarity = query.double() @ keys.double().t()  # N x K
    key_temperature = log_t.exp()[key_labels]

    def class_scores(logits, mask):
        columns, present = [], []
        for c in range(num_classes):
            in_class = mask & (key_labels == c)[None, :]
            count = in_class.sum(1)
            masked = torch.where(in_class, logits, NEG_INF)
            # rows without a key: a finite dummy, masked out below
            masked = torch.where((count > 0)[:, None], masked, 0.0)
            lse = torch.logsumexp(masked, 1) - count.clamp_min(1).log()
            columns.append(torch.where(count > 0, lse, 0.0))
            present.append(count > 0)
        return torch.stack(columns, 1), torch.stack(present, 1)

    def cross_entropy_rows(scores, present):
        in_range = (labels >= 0) & (labels < num_classes)
        target = torch.where(in_range, labels, 0)
        valid = in_range & present.gather(1, target[:, None]).squeeze(1)
        adjusted = scores + log_prior.double()[None, :]
        masked = torch.where(present & valid[:, None], adjusted, NEG_INF)
        masked = torch.where(valid[:, None], masked, 0.0)
        loss = torch.logsumexp(masked, 1) - masked.gather(
            1, target[:, None]).squeeze(1)
        return torch.where(valid, loss, 0.0), valid

    con = class_scores(similarity / key_temperature.detach(), con_mask)
    temp = class_scores(similarity.detach() / key_temperature, temp_mask)
    loss_con, valid_con = cross_entropy_rows(*con)
    loss_temp, valid_temp = cross_entropy_rows(*temp)
    return loss_con, loss_temp, valid_con, valid_temp


def dense_masks(num_queries, num_keys, key_mask, query_ids, key_ids,
                query_groups, key_groups):
    """N x K masks of both terms from the arguments of the terms."""
    con = torch.ones(num_queries, num_keys, dtype=torch.bool)
    if key_mask is not None:
        con = con & key_mask.expand(num_queries, num_keys)
    if query_groups is not None:
        con = con & ~((query_groups[:, None] == key_groups[None, :]) &
                      (key_groups[None, :] >= 0))
    temp = con
    if query_ids is not None:
        temp = con & ~((query_ids[:, None] == key_ids[None, :]) &
                       (key_ids[None, :] >= 0))
    return con, temp


def contrastive_case(name):
    """Inputs of one degenerate case: N 9 queries, K 30 keys, C 6 classes
    (class 5 never has a key), D 4, labels in any order of classes."""
    generator = torch.Generator().manual_seed(11)
    num_queries, num_keys, num_classes, dim = 9, 30, 6, 4
    query = F.normalize(torch.randn(num_queries, dim, generator=generator), 1)
    keys = F.normalize(torch.randn(num_keys, dim, generator=generator), 1)
    key_labels = torch.randint(0, 5, (num_keys, ), generator=generator)
    key_labels[:5] = torch.arange(5)
    labels = torch.tensor([0, 1, 2, 3, 4, 5, -1, 0, 2])
    log_temperature = (torch.rand(num_classes, generator=generator) * 0.5 +
                       0.05).log()
    args = dict(key_mask=None, query_ids=None, key_ids=None,
                query_group_ids=None, key_group_ids=None)
    # ids with repeats: query 0's id sits in two slots, queries 7 and 8
    # share one, -1 marks empty slots
    query_ids = torch.tensor([100, 101, 102, 103, 104, 105, 106, 107, 107])
    key_ids = torch.full((num_keys, ), -1)
    key_ids[[3, 10, 17, 20, 21, 25]] = torch.tensor(
        [100, 100, 103, 107, 102, 104])
    if name == 'ids':
        args.update(query_ids=query_ids, key_ids=key_ids)
    elif name == 'groups':
        args.update(
            query_ids=query_ids, key_ids=key_ids,
            query_group_ids=torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, -1]),
            key_group_ids=torch.randint(-1, 4, (num_keys, ),
                                        generator=generator))
    elif name == 'key_mask':
        key_mask = torch.rand(num_keys, generator=generator) > 0.3
        key_mask[[3, 25]] = False  # own keys that are empty slots anyway
        args.update(key_mask=key_mask, query_ids=query_ids, key_ids=key_ids)
    elif name == 'nk_mask':
        args.update(
            key_mask=torch.rand(num_queries, num_keys,
                                generator=generator) > 0.4,
            query_ids=query_ids, key_ids=key_ids,
            query_group_ids=torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 3]),
            key_group_ids=torch.randint(-1, 4, (num_keys, ),
                                        generator=generator))
    elif name == 'queue_layout':
        # the class-balanced queue's layout: contiguous, sorted slots
        key_labels = torch.sort(key_labels)[0]
        args.update(key_mask=torch.arange(num_keys) % 4 != 3,
                    query_ids=query_ids, key_ids=key_ids)
    elif name == 'own_key_dominates':
        # a query's own key is its exact copy at T = 0.01: exp(100) above
        # the rest of its class, which L_con_T must still resolve (no
        # cancellation of a dominant term)
        keys[[3, 17, 25]] = query[[0, 3, 4]]
        key_labels[[3, 17, 25]] = labels[[0, 3, 4]]
        log_temperature = torch.full((num_classes, ), math.log(0.01))
        args.update(query_ids=query_ids, key_ids=key_ids)
    elif name == 'tail_far_below':
        # class 2's keys 1000 below everything else: a shift by the row
        # maximum would underflow them to log(0)
        keys[key_labels == 2] = -query.mean(0) / query.mean(0).norm()
        query = query + 0.0
        log_temperature[2] = math.log(1e-3)
        args.update(query_ids=query_ids, key_ids=key_ids)
    elif name == 'extreme':
        # un-normalised 1e4-scale features, temperatures at both clamps,
        # most classes' keys masked out
        query, keys = query * 1e4, keys * 1e4
        log_temperature = torch.tensor([-50.0, 50.0, -3.0, 0.0, 0.0, 0.0])
        args.update(key_mask=key_labels <= 1, query_ids=query_ids,
                    key_ids=key_ids)
    elif name == 'all_masked':
        args.update(key_mask=torch.zeros(num_keys, dtype=torch.bool),
                    query_ids=query_ids, key_ids=key_ids)
    else:
        assert name == 'plain', name
    prior = ClassPrior(
        num_classes,
        counts=torch.rand(num_classes, generator=generator) + 0.1,
        smoothing=0.0)
    return query, keys, key_labels, labels, prior, log_temperature, args


def run_terms(function, query, keys, log_temperature, **kwargs):
    """Values, validity and gradients (query, keys, log T) of a weighted
    sum of both terms."""
    q = query.clone().requires_grad_()
    k = keys.clone().requires_grad_()
    t = log_temperature.clone().requires_grad_()
    loss_con, loss_temp, valid_con, valid_temp = function(q, k, t, **kwargs)
    weights = torch.linspace(0.5, 1.5, q.shape[0], dtype=loss_con.dtype)
    ((loss_con * weights).sum() + (loss_temp * weights.flip(0)).sum()
     ).backward()
    return dict(loss_con=loss_con.detach(), loss_temp=loss_temp.detach(),
                valid_con=valid_con, valid_temp=valid_temp,
                grad_query=q.grad, grad_keys=k.grad,
                grad_log_temperature=t.grad)


def ours(q, k, t, key_labels, labels, prior, args):
    terms = gml_contrastive_terms(q, k, key_labels, labels, prior.adjust, t,
                                  **args)
    return (terms['loss_con'], terms['loss_temp'], terms['valid_con'],
            terms['valid_temp'])


CASES = ['plain', 'ids', 'groups', 'key_mask', 'nk_mask', 'queue_layout',
         'own_key_dominates', 'tail_far_below', 'extreme', 'all_masked']


@pytest.mark.parametrize('case', CASES)
def test_contrastive_terms_match_dense_float64_reference(case):
    """Values and gradients of query, keys and temperature equal today's
    math, written out densely in float64, to float32 precision."""
    query, keys, key_labels, labels, prior, log_temperature, args = \
        contrastive_case(case)
    con_mask, temp_mask = dense_masks(
        len(query), len(keys), args['key_mask'], args['query_ids'],
        args['key_ids'], args['query_group_ids'], args['key_group_ids'])

    def reference(q, k, t):
        return dense_reference(q, k, key_labels, labels, prior.log_prior, t,
                               con_mask, temp_mask)

    got = run_terms(
        lambda q, k, t: ours(q, k, t, key_labels, labels, prior, args),
        query, keys, log_temperature)
    expected = run_terms(reference, query, keys, log_temperature)
    for name, value in got.items():
        if value.dtype == torch.bool:
            assert torch.equal(value, expected[name]), name
            continue
        assert value.dtype == torch.float32, name
        assert torch.isfinite(value).all(), name
        reference_value = expected[name]
        # float32 precision relative to the size of the quantity (the
        # extreme case's logits reach 1e12)
        scale = max(1.0, float(reference_value.abs().max()))
        torch.testing.assert_close(
            value.double(), reference_value.double(), rtol=1e-5,
            atol=1e-6 * scale,
            msg=name)
    # the cases do what they say
    if case == 'all_masked':
        assert not got['valid_con'].any() and not got['valid_temp'].any()
        assert (got['grad_query'] == 0).all()
    elif case != 'extreme':
        assert not got['valid_con'][5]  # class 5 has no key
        assert not got['valid_con'][6]  # an ignored label
        assert got['valid_con'][:5].all()
    if case == 'own_key_dominates':
        assert (got['loss_temp'] - got['loss_con']).abs()[[0, 3, 4]].max() > 1


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_contrastive_low_precision_inputs_are_cast_to_float32(dtype):
    """Half-precision inputs give exactly the float32 result of their
    values, and gradients of their dtype."""
    query, keys, key_labels, labels, prior, log_temperature, args = \
        contrastive_case('groups')
    query, keys = query.to(dtype), keys.to(dtype)

    def run(q, k, t):
        return ours(q, k, t, key_labels, labels, prior, args)

    low = run_terms(run, query, keys, log_temperature)
    full = run_terms(run, query.float(), keys.float(), log_temperature)
    for name, value in low.items():
        expected = full[name]
        if name in ('grad_query', 'grad_keys'):
            assert value.dtype == dtype
            expected = expected.to(dtype)
        assert torch.equal(value, expected), name


def test_contrastive_terms_ignore_autocast_in_forward_and_backward():
    """Under bf16 autocast, forward and backward (the hand-written matrix
    products included) still run in float32: the result is the one
    without autocast."""
    query, keys, key_labels, labels, prior, log_temperature, args = \
        contrastive_case('key_mask')

    def run(q, k, t):
        return ours(q, k, t, key_labels, labels, prior, args)

    plain = run_terms(run, query, keys, log_temperature)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cast = run_terms(run, query, keys, log_temperature)
    for name, value in cast.items():
        torch.testing.assert_close(value, plain[name], rtol=1e-6, atol=1e-7,
                                   msg=name)


def test_matching_pairs_finds_every_pair_of_equal_ids():
    query_ids = torch.tensor([5, 3, 5, -1, 9])
    key_ids = torch.tensor([3, -1, 5, 5, 7, -1, 3])
    pairs = functional_module.matching_pairs(query_ids, key_ids)
    found = sorted((int(p) // 5, int(p) % 5) for p in pairs)
    expected = sorted((j, n) for n in range(5) for j in range(7)
                      if query_ids[n] == key_ids[j] and key_ids[j] >= 0)
    assert found == expected
    assert functional_module.matching_pairs(
        query_ids, torch.zeros(0, dtype=torch.long)).numel() == 0


def test_contrastive_self_exclusion_changes_temperature_term_only():
    (query, keys, key_labels, labels, prior, log_temperature, query_ids,
     key_ids) = make_inputs()
    with_ids = gml_contrastive_terms(query, keys, key_labels, labels,
                                     prior.adjust, log_temperature,
                                     query_ids, key_ids)
    without = gml_contrastive_terms(query, keys, key_labels, labels,
                                    prior.adjust, log_temperature)
    torch.testing.assert_close(with_ids['loss_con'], without['loss_con'])
    assert not torch.allclose(with_ids['loss_temp'], without['loss_temp'])


def test_contrastive_stop_gradients():
    (query, keys, key_labels, labels, prior, log_temperature, query_ids,
     key_ids) = make_inputs()
    q = query.clone().requires_grad_()
    k = keys.clone().requires_grad_()
    t = log_temperature.clone().requires_grad_()
    terms = gml_contrastive_terms(q, k, key_labels, labels, prior.adjust, t,
                                  query_ids, key_ids)
    # both terms come from one shared node: keep it for the second call
    grads = torch.autograd.grad(
        terms['loss_con'].sum(), (q, k, t), allow_unused=True,
        retain_graph=True)
    assert grads[0].abs().sum() > 0 and grads[1].abs().sum() > 0
    assert grads[2] is None or (grads[2] == 0).all()
    grads = torch.autograd.grad(
        terms['loss_temp'].sum(), (q, k, t), allow_unused=True)
    assert grads[0] is None or (grads[0] == 0).all()
    assert grads[1] is None or (grads[1] == 0).all()
    assert grads[2].abs().sum() > 0
    # the prior is state, never trained: no parameter to receive a gradient
    assert list(prior.parameters()) == []


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_contrastive_half_precision_and_extremes_are_finite(dtype):
    (query, keys, key_labels, labels, prior, log_temperature, query_ids,
     key_ids) = make_inputs()
    reference = gml_contrastive_terms(query, keys, key_labels, labels,
                                      prior.adjust, log_temperature)
    q = query.to(dtype).requires_grad_()
    k = keys.to(dtype).requires_grad_()
    t = log_temperature.clone().requires_grad_()
    terms = gml_contrastive_terms(q, k, key_labels, labels, prior.adjust, t,
                                  query_ids, key_ids)
    assert terms['loss_con'].dtype == torch.float32
    # low-precision inputs, float32 maths: close to the float32 result
    torch.testing.assert_close(
        terms['loss_con'], reference['loss_con'], rtol=0.05, atol=0.05)
    (terms['loss_con'].sum() + terms['loss_temp'].sum()).backward()
    for tensor in (q.grad, k.grad, t.grad):
        assert torch.isfinite(tensor.float()).all()

    # extreme values: similarities of 1e4 * 1e4 * 5, temperatures at the
    # clamp, all keys of most classes masked out.
    q = (query * 1e4).requires_grad_()
    k = (keys * 1e4).requires_grad_()
    t = torch.tensor([-50.0, 50.0, -3.0, 0.0, 0.0], requires_grad=True)
    key_mask = torch.zeros(7, 12, dtype=torch.bool)
    key_mask[:, :5] = True  # only the keys of classes 0 and 1 are left
    terms = gml_contrastive_terms(q, k, key_labels, labels, prior.adjust, t,
                                  query_ids, key_ids, key_mask)
    assert torch.equal(terms['valid_con'], labels <= 1)
    assert (terms['loss_con'][labels <= 1] > 0).any()
    total = terms['loss_con'].sum() + terms['loss_temp'].sum()
    total.backward()
    assert torch.isfinite(total)
    for tensor in (q.grad, k.grad, t.grad):
        assert torch.isfinite(tensor).all()


def test_contrastive_with_no_keys_at_all_is_invalid_and_finite():
    query = torch.randn(3, 4, requires_grad=True)
    terms = gml_contrastive_terms(query, torch.zeros(0, 4),
                                  torch.zeros(0, dtype=torch.long),
                                  torch.tensor([0, 1, 2]),
                                  ClassPrior(3).adjust, torch.zeros(3))
    assert not terms['valid_con'].any() and not terms['valid_temp'].any()
    assert (terms['loss_con'] == 0).all()
    terms['loss_con'].sum().backward()
    assert torch.equal(query.grad, torch.zeros_like(query))


def test_masked_cross_entropy_matches_reference():
    scores = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0],
                           [2.0, 0.0, 1.0], [1.0, 1.0, 1.0]],
                          requires_grad=True)
    labels = torch.tensor([0, 2, 1, -100])
    class_mask = torch.tensor([[True, False, True], [True, True, True],
                               [True, False, True], [True, True, True]])
    loss, valid = masked_cross_entropy(scores, labels, class_mask)
    assert valid.tolist() == [True, True, False, False]
    expected0 = torch.logsumexp(torch.tensor([1.0, 3.0]), 0) - 1.0
    expected1 = F.cross_entropy(scores[1:2].detach(), labels[1:2])
    torch.testing.assert_close(loss[0], expected0)
    torch.testing.assert_close(loss[1], expected1)
    assert loss[2] == 0 and loss[3] == 0
    loss.sum().backward()
    assert scores.grad[0, 1] == 0 and (scores.grad[2:] == 0).all()
    assert torch.isfinite(scores.grad).all()


@pytest.mark.parametrize('spatial', [False, True])
def test_cross_entropy_of_adjusted_logits_is_logit_adjusted_ce(spatial):
    generator = torch.Generator().manual_seed(3)
    shape = (2, 4, 3, 5) if spatial else (6, 4)
    logits = torch.randn(*shape, generator=generator)
    labels = torch.randint(0, 4, (shape[0], ) + shape[2:], generator=generator)
    labels.view(-1)[::3] = 255
    prior = ClassPrior(4, counts=[0.5, 0.3, 0.15, 0.05], smoothing=0.0)
    log_prior = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
    prior_shape = (1, 4, 1, 1) if spatial else (1, 4)
    adjusted = logits + log_prior.view(prior_shape)
    torch.testing.assert_close(prior.adjust(logits), adjusted)
    loss = cross_entropy(prior.adjust(logits), labels, ignore_index=255)
    torch.testing.assert_close(
        loss, F.cross_entropy(adjusted, labels, ignore_index=255))
    per_element = cross_entropy(
        prior.adjust(logits), labels, ignore_index=255, reduction='none')
    assert per_element.shape == labels.shape
    assert (per_element[labels == 255] == 0).all()
    torch.testing.assert_close(
        per_element,
        F.cross_entropy(
            adjusted, labels, ignore_index=255, reduction='none'))
    all_elements = cross_entropy(
        prior.adjust(logits), labels, ignore_index=255, avg_non_ignore=False)
    torch.testing.assert_close(all_elements,
                               per_element.sum() / labels.numel())
    # class weights: weighted sum over the non-ignored count (mmseg rule)
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    weighted = cross_entropy(
        prior.adjust(logits), labels, ignore_index=255, weight=weight)
    expected = F.cross_entropy(
        adjusted, labels, weight=weight, ignore_index=255,
        reduction='sum') / (labels != 255).sum()
    torch.testing.assert_close(weighted, expected)


def test_cross_entropy_all_ignored_is_zero_with_gradient():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    labels = torch.full((2, 4, 4), 255)
    loss = cross_entropy(logits, labels, ignore_index=255)
    assert loss.item() == 0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_check_labels_names_the_bad_values_and_the_fix():
    check_labels(torch.tensor([0, 3, 255]), 4, ignore_index=255)
    with pytest.raises(UserError, match=r'\[-1, 7\] are outside \[0, 4\)'):
        check_labels(torch.tensor([0, 7, -1, 255]), 4, ignore_index=255)


def test_distillation_kl_matches_reference():
    generator = torch.Generator().manual_seed(4)
    student = torch.randn(5, 6, generator=generator, requires_grad=True)
    teacher = torch.randn(5, 6, generator=generator, requires_grad=True)
    loss = distillation_kl(student, teacher, temperature=4.0)
    p_teacher = (teacher.detach() / 4).softmax(1)
    expected = 16 * (p_teacher * (p_teacher.log() -
                                  (student.detach() / 4).log_softmax(1))
                     ).sum(1).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert teacher.grad is None and student.grad.abs().sum() > 0
    same = distillation_kl(teacher.detach(), teacher.detach())
    assert same.abs().item() < 1e-6
    per_pixel = distillation_kl(
        torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), reduction='none')
    assert per_pixel.shape == (2, 4, 4) and (per_pixel >= -1e-6).all()
