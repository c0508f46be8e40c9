"""Mixed precision: the GML head's loss and gradients stay finite under
autocast (bfloat16 on the CPU) and with float16 inputs, on adversarial
inputs; the loss math runs in float32."""
import pytest
import torch

from mil_seg.gml import ClassPrior, GMLLoss
from .tiny_head import (NUM_CLASSES, block_labels, build_head, data_samples,
                        features, total_loss)

CASES = {
    # name: (feature scale, label classes)
    'large_features': (1e4, None),
    'tiny_features': (1e-6, None),
    'one_class_batch': (1.0, [2]),
    'classes_without_keys': (1e3, [0, 1]),
    'all_ignored': (1.0, [255]),
}


def assert_finite_step(head, inputs, labels):
    inputs = inputs.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = head.loss([inputs], data_samples(labels), dict())
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
        if name.startswith('loss'):
            # the loss terms are computed (and returned) in float32
            assert value.dtype == torch.float32, name
    total_loss(losses).backward()
    assert torch.isfinite(inputs.grad).all()
    for name, parameter in head.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name
    return losses


@pytest.mark.parametrize('case', sorted(CASES))
def test_head_loss_and_grads_finite_under_bf16_autocast(case):
    scale, classes = CASES[case]
    head = build_head()
    queue_before = head.contrast.queue.features.clone()
    for step in range(3):  # an empty queue first, then a filling one
        losses = assert_finite_step(
            head, features(scale=scale, seed=step),
            block_labels(classes=classes, seed=step))
    if case == 'all_ignored':
        assert total_loss(losses).item() == 0.0
        assert torch.equal(head.contrast.queue.features, queue_before)
    if case == 'one_class_batch':
        # only class 2 has keys: its queries are valid and the loss is 0
        # (a soft-max over one class), never NaN
        pushed = head.contrast.queue.num_pushed.tolist()
        assert pushed[2] > 0 and pushed[:2] + pushed[3:] == [0] * (
            NUM_CLASSES - 1)


def test_head_with_float16_inputs_under_autocast():
    head = build_head()
    # up to the float16 maximum (65504)
    inputs = features(scale=3e4).clamp(-6e4, 6e4).half()
    assert torch.isfinite(inputs).all()
    assert_finite_step(head, inputs, block_labels())


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_gml_loss_with_low_precision_extreme_inputs(dtype):
    loss = GMLLoss(NUM_CLASSES)
    logits = (torch.randn(6, NUM_CLASSES) * 3e4).clamp(-6e4, 6e4).to(dtype)
    logits.requires_grad_()
    query = torch.nn.functional.normalize(torch.randn(6, 4), dim=1).to(dtype)
    keys = torch.nn.functional.normalize(torch.randn(5, 4), dim=1).to(dtype)
    query.requires_grad_()
    labels = torch.tensor([0, 0, 1, 3, 3, 255])
    key_labels = torch.tensor([0, 0, 1, 1, 2])  # class 3 has no key
    # a log prior spanning 55 nats (probabilities down to the 1e-12 floor)
    prior = ClassPrior(
        NUM_CLASSES, counts=[0.9, 0.1, 1e-18, 1e-35], smoothing=0.0, tau=2.0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = loss(
            logits,
            labels,
            prior,
            query=query,
            keys=keys,
            key_labels=key_labels,
            query_labels=labels,
            ignore_index=255)
    total = total_loss(losses)
    assert all(value.dtype == torch.float32 for value in losses.values())
    assert torch.isfinite(total)
    total.backward()
    for tensor in (logits, query, loss.log_temperature):
        assert torch.isfinite(tensor.grad).all()
