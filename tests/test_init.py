"""`import mil_seg` registers the package into both toolboxes' registries
without ambiguity: the shared core is one class in both."""
import mil_seg  # noqa: F401


def test_no_name_means_two_different_things():
    """mmengine resolves a type in the current default scope first, so a
    name registered with different classes in the two toolboxes would build
    the wrong one after the scope switched (e.g. tests or notebooks that use
    both)."""
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    ours = {
        name: cls
        for name, cls in SEG_MODELS.module_dict.items()
        if cls.__module__.startswith('mil_seg.')
    }
    for name, cls in CLS_MODELS.module_dict.items():
        if cls.__module__.startswith('mil_seg.') and name in ours:
            assert ours[name] is cls, name


def test_core_is_the_same_class_in_both_toolboxes():
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    assert SEG_MODELS.get('GMLLoss') is CLS_MODELS.get('GMLLoss')
    assert SEG_MODELS.get('ClassPrior') is CLS_MODELS.get('ClassPrior')
