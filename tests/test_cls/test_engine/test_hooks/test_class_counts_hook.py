"""ClassCountsHook: the training set's class counts fill the model's
prior and queue before training."""
import torch

from mil_seg.cls.engine import ClassCountsHook

from ...cls_builders import COUNTS, build_classifier, head_cfg


def test_class_counts_hook_fills_prior_and_queue():
    model = build_classifier(head=head_cfg(prior=None))
    assert model.head.requires_class_counts

    class _Runner:
        pass

    runner = _Runner()
    runner.model = model
    runner._val_loop = None
    hook = ClassCountsHook()
    hook._counts = COUNTS
    hook.before_train(runner)
    assert model.head.prior.counts.tolist() == COUNTS
    queue = model.head.contrast.queue
    queue.push(torch.randn(1, queue.dim), torch.tensor([0]))
    # the queue follows the filled prior at its first push
    assert queue.slot_size.tolist()[0] > queue.slot_size.tolist()[-1]
    assert not model.head.requires_class_counts
