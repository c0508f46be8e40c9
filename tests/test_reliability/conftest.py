"""Helpers of the reliability tests: run the tools on tiny generated data."""
import pytest

from mil_seg.seg.datasets import generate_synthetic_lt_dataset

# Re-exported for the tests of this folder.
from ..tool_runner import (DEMO_GML, ROOT, run_command, run_tool,  # noqa: F401
                          small_seg_options, tool_env)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('synthetic_lt'))
    generate_synthetic_lt_dataset(
        root, num_train=8, num_val=2, image_size=(32, 32), seed=0)
    return root
