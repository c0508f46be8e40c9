"""`import mil_seg` registers the classification adapter (mil_seg.cls)
into mmpretrain's registries."""
import mil_seg  # noqa: F401


def test_classification_registries_hold_the_package():
    from mmpretrain.registry import DATASETS, HOOKS, METRICS, MODELS
    for name in ('ClassPrior', 'ClassBalancedQueue', 'GMLLoss',
                 'GMLClassifier', 'GMLClsHead', 'LogitAdjustedCELoss'):
        assert MODELS.get(name).__module__.startswith('mil_seg.'), name
    for name in ('CIFAR10LT', 'CIFAR100LT', 'LongTailSubset', 'ImageNetLT'):
        assert DATASETS.get(name).__module__.startswith('mil_seg.'), name
    assert METRICS.get('LongTailAccuracy').__module__.startswith('mil_seg.')
    assert HOOKS.get('ClassCountsHook').__module__.startswith('mil_seg.')
