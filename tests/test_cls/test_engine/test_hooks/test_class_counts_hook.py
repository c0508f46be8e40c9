"""ClassCountsHook: the training set's class counts fill the model's
prior and queue before training."""
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
    assert model.head.contrast.queue.slot_size.tolist()[0] > \
        model.head.contrast.queue.slot_size.tolist()[-1]
    assert not model.head.requires_class_counts
