"""Mixed precision: the GML heads' (segmentation and classification) and
the GML classifier's loss terms and gradients stay finite under
``torch.autocast('cpu', dtype=torch.bfloat16)`` and with float16 inputs, on
adversarial inputs (huge or tiny features, a one-class batch, classes
without keys, a huge teacher); the loss math runs in float32."""
import pytest
import torch

from mil_seg.gml import ClassPrior, GMLLoss
from .tasks import (CHANNELS, NUM_CLASSES, SEG, TASKS, block_labels,
                    features, samples, tiny_classifier, total_loss)

SEG_CASES = {
    # name: (feature scale, label classes)
    'large_features': (1e4, None),
    'tiny_features': (1e-6, None),
    'one_class_batch': (1.0, [2]),
    'classes_without_keys': (1e3, [0, 1]),
    'all_ignored': (1.0, [255]),
}
CLS_CASES = {
    # name: (feature scale, batch labels)
    'huge_features': (1e4, [0, 1, 2, 3, 0, 1]),
    'near_float_max_features': (1e30, [0, 1, 2, 3, 0, 1]),
    'tiny_features': (1e-20, [0, 1, 2, 3, 0, 1]),
    'one_class_batch': (1.0, [2] * 6),
    'classes_without_keys': (1e3, [0, 0, 0, 1, 1, 1]),
}
HEAD_CASES = [
    pytest.param('seg', name, False, id=f'seg-{name}')
    for name in sorted(SEG_CASES)
] + [
    pytest.param('cls', name, kd, id=f'cls-{name}-{kind}')
    for name in sorted(CLS_CASES)
    for kd, kind in ((False, 'ema'), (True, 'teacher_kd'))
]


def assert_finite_terms(losses):
    assert losses, 'no loss terms'
    for name, value in losses.items():
        assert torch.isfinite(value).all(), name
        if name.startswith('loss'):
            # the loss terms are computed (and returned) in float32
            assert value.dtype == torch.float32, (name, value.dtype)


@pytest.mark.parametrize('task,case,kd', HEAD_CASES)
def test_head_loss_and_grads_finite_under_bf16_autocast(task, case, kd):
    task = TASKS[task]
    scale, labels = (SEG_CASES if task is SEG else CLS_CASES)[case]
    extra = dict(
        key_in_channels=CHANNELS,
        loss_gml=dict(type='GMLLoss', kd_weight=1.0)) if kd else {}
    head = task.build_head(**extra)
    queue_before = head.contrast.queue.features.clone()
    present = set()
    for step in range(3):  # an empty queue first, then a filling one
        head.zero_grad()
        step_kwargs = dict(teacher=True) if kd else {}
        with torch.autocast('cpu', dtype=torch.bfloat16):
            losses, inputs = task.head_step(
                head, labels, scale=scale, seed=step, **step_kwargs)
        assert_finite_terms(losses)
        if task is SEG:
            present |= set(
                block_labels(classes=labels, seed=step).unique().tolist())
        else:
            present |= set(labels)
            assert 'loss_con' in losses
            if kd:
                assert 'loss_kd' in losses
        task.total(losses).backward()
        for tensor in inputs:
            assert torch.isfinite(tensor.grad).all()
        for name, parameter in head.named_parameters():
            if parameter.grad is not None:
                assert torch.isfinite(parameter.grad).all(), name
    # the batch's classes have keys, the others none (a one-class batch:
    # a soft-max over one class, loss 0, never NaN)
    present.discard(255)
    pushed = head.contrast.queue.num_pushed.tolist()
    assert all(pushed[c] > 0 for c in present), (pushed, present)
    assert all(pushed[c] == 0 for c in range(NUM_CLASSES)
               if c not in present), (pushed, present)
    assert torch.isfinite(head.contrast.queue.features).all()
    if case == 'all_ignored':
        assert total_loss(losses).item() == 0.0
        assert torch.equal(head.contrast.queue.features, queue_before)


def test_seg_head_with_float16_inputs_under_autocast():
    head = SEG.build_head()
    # up to the float16 maximum (65504)
    inputs = features(scale=3e4).clamp(-6e4, 6e4).half()
    assert torch.isfinite(inputs).all()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses, leaves = SEG.head_step(head, block_labels(), inputs=inputs)
    assert_finite_terms(losses)
    total_loss(losses).backward()
    assert torch.isfinite(leaves[0].grad).all()
    for name, parameter in head.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name


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


@pytest.mark.parametrize('teacher', [False, True], ids=['ema', 'teacher'])
@pytest.mark.parametrize('scale,labels', [(1e4, [0, 1, 2, 3]),
                                          (1.0, [3, 3, 3, 3])],
                         ids=['huge_images', 'one_class_batch'])
def test_classifier_three_views_finite_under_bf16_autocast(
        teacher, scale, labels):
    """The whole classifier (backbone, EMA key encoder or frozen teacher,
    head) on 3 views of 32 x 32 images, in training mode."""
    model = tiny_classifier(teacher)
    model.train()
    generator = torch.Generator().manual_seed(0)
    views = [
        torch.randn(len(labels), 3, 32, 32, generator=generator) * scale
        for _ in range(3)
    ]
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(views, samples(labels))
    assert_finite_terms(losses)
    assert 'loss_con' in losses
    total_loss(losses).backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    if teacher:
        assert all(p.grad is None for p in model.teacher.parameters())
