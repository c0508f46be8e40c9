"""Tests of mil_seg.gml.GMLLoss."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mil_seg.gml import (ClassPrior, GMLLoss, distillation_kl,
                         gml_contrastive_terms)

torch.set_num_threads(1)


def make_batch(seed=0, num_samples=8, num_classes=4, dim=6, num_keys=10):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(num_samples, num_classes, generator=generator) * 5
    labels = torch.randint(0, num_classes, (num_samples, ),
                           generator=generator)
    # raw frequencies: prior.log_prior is exactly their log
    prior = ClassPrior(4, counts=[0.6, 0.25, 0.1, 0.05], smoothing=0.0)
    query = F.normalize(torch.randn(num_samples, dim, generator=generator), 1)
    keys = F.normalize(torch.randn(num_keys, dim, generator=generator), 1)
    key_labels = torch.arange(num_keys) % num_classes
    return logits, labels, prior, query, keys, key_labels


def test_no_extra_terms_equals_logit_adjusted_cross_entropy():
    logits, labels, prior, query, keys, key_labels = make_batch()
    loss = GMLLoss(4, con_weight=0.0, kd_weight=0.0)
    logits.requires_grad_()
    losses = loss(
        logits,
        labels,
        prior,
        query=query,
        keys=keys,
        key_labels=key_labels,
        teacher_logits=torch.randn(8, 4))
    assert set(losses) == {'loss_sup'}
    expected = F.cross_entropy(logits + prior.log_prior, labels)
    # bit-identical, not merely close
    assert torch.equal(losses['loss_sup'], expected)
    grad, = torch.autograd.grad(losses['loss_sup'], logits)
    expected_grad, = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(grad, expected_grad, rtol=0, atol=1e-7)


def test_segmentation_shaped_sup_term_respects_ignore_index():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 5, 5, generator=generator)
    labels = torch.randint(0, 4, (2, 5, 5), generator=generator)
    labels[0, :2] = 255
    prior = ClassPrior(4, counts=[0.4, 0.3, 0.2, 0.1], smoothing=0.0)
    losses = GMLLoss(4, sup_weight=0.5, con_weight=0.0)(
        logits, labels, prior, ignore_index=255)
    expected = F.cross_entropy(
        logits + prior.log_prior.view(1, 4, 1, 1), labels, ignore_index=255)
    assert torch.equal(losses['loss_sup'], 0.5 * expected)


def test_class_weighted_sup_term_is_the_weighted_mean():
    """A numpy-free reference: sum_i w_{y_i} l_i / sum_i w_{y_i} over the
    non-ignored pixels, with l_i the logit-adjusted cross-entropy and
    w_c = pi_c ** -0.5 (its scale cancels)."""
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 4, 5, 5, generator=generator)
    labels = torch.randint(0, 4, (2, 5, 5), generator=generator)
    labels[1, 3:] = 255
    prior = ClassPrior(4, counts=[0.4, 0.3, 0.2, 0.1], smoothing=0.0,
                       tau=0.5)
    losses = GMLLoss(4, con_weight=0.0, class_weight_exponent=0.5)(
        logits, labels, prior, ignore_index=255)
    adjusted = logits + 0.5 * torch.tensor([0.4, 0.3, 0.2, 0.1]).log().view(
        1, 4, 1, 1)
    valid = labels != 255
    per_pixel = F.cross_entropy(adjusted, labels.clamp_max(3),
                                reduction='none')[valid]
    weights = torch.tensor([0.4, 0.3, 0.2, 0.1]).pow(-0.5)[labels[valid]]
    expected = (weights * per_pixel).sum() / weights.sum()
    torch.testing.assert_close(losses['loss_sup'], expected)
    unweighted = GMLLoss(4, con_weight=0.0)(logits, labels, prior,
                                            ignore_index=255)['loss_sup']
    assert not torch.allclose(losses['loss_sup'], unweighted, atol=1e-3)


def test_class_weighted_sup_term_without_prior_strength_is_cwce():
    """At prior strength 0 the weighted supervised term is the
    class-weighted CE baseline as a decode head calls it."""
    from mil_seg.losses import ClassWeightedCELoss
    generator = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 6, 6, generator=generator)
    labels = torch.randint(0, 4, (2, 6, 6), generator=generator)
    labels[0, 0] = 255
    prior = ClassPrior(4, counts=[70, 20, 8, 2], tau=0.0)
    gml = GMLLoss(4, con_weight=0.0, class_weight_exponent=0.25)(
        logits, labels, prior, ignore_index=255)['loss_sup']
    cwce = ClassWeightedCELoss(prior=prior, exponent=0.25)(
        logits, labels, ignore_index=255)
    torch.testing.assert_close(gml, cwce)


def test_unadjusted_sup_term_is_cwce_while_the_contrast_keeps_the_prior():
    """sup_logit_adjustment=False: at prior strength 0.75 the supervised
    term is class-weighted CE (no adjustment), and the contrastive term is
    the one of the adjusted loss, not of prior strength 0."""
    from mil_seg.losses import ClassWeightedCELoss
    logits, labels, prior, query, keys, key_labels = make_batch(seed=4)
    prior = ClassPrior(4, counts=[0.6, 0.25, 0.1, 0.05], smoothing=0.0,
                       tau=0.75)
    batch = dict(query=query, keys=keys, key_labels=key_labels)
    losses = GMLLoss(4, class_weight_exponent=0.5,
                     sup_logit_adjustment=False)(logits, labels, prior,
                                                 **batch)
    cwce = ClassWeightedCELoss(prior=prior, exponent=0.5)(logits, labels)
    torch.testing.assert_close(losses['loss_sup'], cwce)
    adjusted = GMLLoss(4, class_weight_exponent=0.5)(logits, labels, prior,
                                                     **batch)
    assert not torch.allclose(adjusted['loss_sup'], cwce, atol=1e-3)
    assert torch.equal(losses['loss_con'], adjusted['loss_con'])
    flat = ClassPrior(4, counts=[0.6, 0.25, 0.1, 0.05], smoothing=0.0,
                      tau=0.0)
    unadjusted = GMLLoss(4, class_weight_exponent=0.5)(logits, labels, flat,
                                                       **batch)
    assert not torch.allclose(losses['loss_con'], unadjusted['loss_con'],
                              atol=1e-3)


def test_class_weighted_sup_term_all_ignored_is_zero_with_gradient():
    logits = torch.randn(1, 4, 3, 3, requires_grad=True)
    labels = torch.full((1, 3, 3), 255)
    prior = ClassPrior(4, counts=[4, 3, 2, 1])
    loss = GMLLoss(4, con_weight=0.0, class_weight_exponent=1.0)(
        logits, labels, prior, ignore_index=255)['loss_sup']
    assert loss.item() == 0.0
    grad, = torch.autograd.grad(loss, logits)
    assert torch.equal(grad, torch.zeros_like(grad))


def test_class_weight_exponent_must_not_be_negative():
    from mil_seg.errors import UserError
    with pytest.raises(UserError, match='class_weight_exponent'):
        GMLLoss(4, class_weight_exponent=-0.5)


def test_weighted_terms_match_functional():
    logits, labels, prior, query, keys, key_labels = make_batch(seed=2)
    teacher = torch.randn(8, 4)
    query_ids = torch.arange(8)
    key_ids = torch.tensor([0, 1, 2, 3, 20, 21, 22, 23, 24, 25])
    key_mask = torch.ones(10, dtype=torch.bool)
    key_mask[[3, 7]] = False  # class 3 has no usable key
    loss = GMLLoss(
        4, sup_weight=1.5, con_weight=0.7, kd_weight=2.0,
        init_temperature=0.07)
    losses = loss(
        logits,
        labels,
        prior,
        query=query,
        keys=keys,
        key_labels=key_labels,
        query_ids=query_ids,
        key_ids=key_ids,
        key_mask=key_mask,
        teacher_logits=teacher)
    assert set(losses) == {'loss_sup', 'loss_con', 'loss_con_temp', 'loss_kd'}
    terms = gml_contrastive_terms(
        query, keys, key_labels, labels, prior.adjust,
        torch.full((4, ), math.log(0.07)), query_ids, key_ids, key_mask)
    assert not terms['valid_con'][labels == 3].any()
    valid = terms['valid_con']
    torch.testing.assert_close(losses['loss_con'],
                               0.7 * terms['loss_con'][valid].mean())
    valid_temp = terms['valid_temp']
    torch.testing.assert_close(losses['loss_con_temp'],
                               0.7 * terms['loss_temp'][valid_temp].mean())
    torch.testing.assert_close(losses['loss_kd'],
                               2.0 * distillation_kl(logits, teacher, 4.0))
    torch.testing.assert_close(
        losses['loss_sup'],
        1.5 * F.cross_entropy(logits + prior.log_prior, labels))


def test_temperature_parameter_and_buffer():
    loss = GMLLoss(3, init_temperature=0.1)
    assert isinstance(loss.log_temperature, nn.Parameter)
    torch.testing.assert_close(loss.temperature, torch.full((3, ), 0.1))
    assert [name for name, _ in loss.named_parameters()] == ['log_temperature']
    fixed = GMLLoss(3, init_temperature=0.07, learn_temperature=False)
    assert not isinstance(fixed.log_temperature, nn.Parameter)
    assert 'log_temperature' in fixed.state_dict()
    assert list(fixed.parameters()) == []
    logits, labels, prior, query, keys, key_labels = make_batch()
    losses = fixed(logits[:, :3], labels % 3, ClassPrior(3, counts=[6, 3, 1]),
                   query, keys, key_labels % 3)
    assert 'loss_con' in losses and 'loss_con_temp' not in losses
    # without a contrastive term the temperature is never learnt: a
    # parameter would get no gradient, which DDP refuses
    off = GMLLoss(3, con_weight=0.0)
    assert not off.learn_temperature and list(off.parameters()) == []
    assert 'log_temperature' in off.state_dict()


def test_shared_temperature_is_the_per_class_one_broadcast():
    """``temperature='shared'`` (the authors' release): one (1,) parameter;
    at the same value the terms equal the per-class loss's, and its
    gradient is the sum of the per-class gradients."""
    logits, labels, prior, query, keys, key_labels = make_batch(seed=4)
    shared = GMLLoss(4, init_temperature=0.07, temperature='shared')
    per_class = GMLLoss(4, init_temperature=0.07)
    assert shared.log_temperature.shape == (1, )
    torch.testing.assert_close(shared.temperature, per_class.temperature)
    results = []
    for loss in (shared, per_class):
        losses = loss(logits, labels, prior, query, keys, key_labels)
        (grad, ) = torch.autograd.grad(losses['loss_con_temp'],
                                       loss.log_temperature)
        results.append((losses, grad))
    (shared_losses, shared_grad), (class_losses, class_grad) = results
    for name in ('loss_sup', 'loss_con', 'loss_con_temp'):
        torch.testing.assert_close(shared_losses[name], class_losses[name])
    assert class_grad.shape == (4, ) and (class_grad != 0).sum() > 1
    torch.testing.assert_close(shared_grad, class_grad.sum(0, keepdim=True))
    with pytest.raises(ValueError, match='temperature must be one of'):
        GMLLoss(4, temperature='global')


def test_temperature_learns_only_from_temperature_term():
    logits, labels, prior, query, keys, key_labels = make_batch(seed=3)
    loss = GMLLoss(4)
    q = query.clone().requires_grad_()
    losses = loss(logits, labels, prior, q, keys, key_labels)
    # both terms come from one shared node: keep it for the second call
    grad_t, grad_q = torch.autograd.grad(
        losses['loss_con'], (loss.log_temperature, q), allow_unused=True,
        retain_graph=True)
    assert grad_t is None or (grad_t == 0).all()
    assert grad_q.abs().sum() > 0
    grad_t, grad_q = torch.autograd.grad(
        losses['loss_con_temp'], (loss.log_temperature, q),
        allow_unused=True)
    assert grad_t.abs().sum() > 0
    assert grad_q is None or (grad_q == 0).all()


def test_query_labels_and_ignore_index_for_anchors():
    generator = torch.Generator().manual_seed(5)
    logits = torch.randn(2, 4, 3, 3, generator=generator)
    labels = torch.randint(0, 4, (2, 3, 3), generator=generator)
    query = F.normalize(torch.randn(5, 6, generator=generator), 1)
    keys = F.normalize(torch.randn(8, 6, generator=generator), 1)
    key_labels = torch.arange(8) % 4
    prior = ClassPrior(4, counts=[1, 1, 1, 1])
    loss = GMLLoss(4)
    with pytest.raises(ValueError, match='query_labels'):
        loss(logits, labels, prior, query, keys, key_labels)
    query_labels = torch.tensor([0, 1, 255, 3, 2])
    losses = loss(
        logits,
        labels,
        prior,
        query,
        keys,
        key_labels,
        ignore_index=255,
        query_labels=query_labels)
    keep = query_labels != 255
    terms = gml_contrastive_terms(query[keep], keys, key_labels,
                                  query_labels[keep], prior.adjust,
                                  loss.log_temperature)
    torch.testing.assert_close(losses['loss_con'], terms['loss_con'].mean())


def test_all_ignored_and_no_valid_queries_give_zero_with_gradient():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    labels = torch.full((2, 4, 4), 255)
    query = torch.randn(4, 5, requires_grad=True)
    keys = torch.randn(6, 5)
    loss = GMLLoss(3, kd_weight=1.0)
    losses = loss(
        logits,
        labels,
        ClassPrior(3),
        query=query,
        keys=keys,
        key_labels=torch.zeros(6, dtype=torch.long),
        key_mask=torch.zeros(6, dtype=torch.bool),  # empty queue
        teacher_logits=torch.randn(2, 3, 4, 4),
        ignore_index=255,
        query_labels=torch.tensor([0, 1, 2, 255]))
    assert set(losses) == {'loss_sup', 'loss_con', 'loss_con_temp', 'loss_kd'}
    for value in losses.values():
        assert value.item() == 0
    total = sum(losses.values())
    total.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    assert torch.equal(query.grad, torch.zeros_like(query))
    assert torch.equal(loss.log_temperature.grad,
                       torch.zeros_like(loss.log_temperature))


def test_half_precision_and_extreme_logits_are_finite():
    logits, labels, prior, query, keys, key_labels = make_batch(seed=6)
    loss = GMLLoss(4, kd_weight=1.0)
    extreme = (logits.sign() * 1e4).half().requires_grad_()
    q = query.half().requires_grad_()
    k = (keys * 1e3).half().requires_grad_()
    teacher = (torch.randn(8, 4) * 1e4).half()
    losses = loss(extreme, labels, prior, q, k, key_labels,
                  teacher_logits=teacher)
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for tensor in (extreme.grad, q.grad, k.grad, loss.log_temperature.grad):
        assert torch.isfinite(tensor.float()).all()
    assert extreme.grad.abs().sum() > 0
