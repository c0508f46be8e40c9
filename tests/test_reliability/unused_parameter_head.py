"""Test-only decode head, imported by the configs of the unused-parameter
tests (``custom_imports``): an FCN head with a convolution that its forward
never calls, as a user's own module might have."""
import torch
from mmseg.models.decode_heads import FCNHead
from mmseg.registry import MODELS


@MODELS.register_module()
class FCNHeadWithUnusedConv(FCNHead):
    """``FCNHead`` plus ``unused_conv``, left out of every loss."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.unused_conv = torch.nn.Conv2d(self.channels, self.channels, 1)
