"""`import mil_seg` registers the segmentation adapter (mil_seg.seg) into
mmseg's registries."""
import mil_seg  # noqa: F401


def test_segmentation_registries_hold_the_package():
    from mmseg.registry import DATASETS, HOOKS, METRICS, MODELS
    for name in ('GMLHead', 'GMLCascadeHead', 'GMLEncoderDecoder',
                 'GMLCascadeEncoderDecoder', 'ClassPrior',
                 'ClassBalancedQueue', 'GMLLoss', 'RegionRebalanceHead',
                 'LogitAdjustedCELoss', 'ClassWeightedCELoss', 'BLVLoss',
                 'PixelSeesawLoss'):
        assert MODELS.get(name) is not None, name
        assert MODELS.get(name).__module__.startswith('mil_seg.'), name
    assert DATASETS.get('CamVidDataset').__module__.startswith('mil_seg.')
    for name in ('CCPDataset', 'SyntheticLTDataset', 'RepeatFactorDataset'):
        assert DATASETS.get(name).__module__.startswith('mil_seg.'), name
    assert METRICS.get('LongTailIoUMetric').__module__.startswith('mil_seg.')
    assert HOOKS.get('ClassCountsHook').__module__.startswith('mil_seg.')
