"""Shared set-up of the classification tests: registration and the
mmpretrain scope (the tiny data makers are in tests/conftest.py)."""
import pytest

import mil_seg  # noqa: F401  (compat layer + registration)


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build from MMPretrain's registries whatever scope an earlier
    (segmentation) test left as mmengine's global default."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
