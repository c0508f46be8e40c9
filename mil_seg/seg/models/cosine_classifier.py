"""A 1x1 cosine classifier for dense features."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from mil_seg.errors import UserError


@MODELS.register_module()
class CosineClassifier2d(nn.Module):
    """Per-pixel cosine classifier: ``scale * cos(feature, class weight)``.

    Both the pixel features and the class weights are L2-normalised over the
    channel dimension, so the logits lie in ``[-scale, scale]``. This is the
    classifier of GML's supervised term, ``cos(f(x), W) / T_s`` with
    ``scale = 1 / T_s``.

    The weight is stored as ``(num_classes, in_channels, 1, 1)`` like a 1x1
    ``nn.Conv2d``, so mmengine initialisers that target ``conv_seg``
    (``Normal`` with ``std=0.01``) apply to it unchanged; the scale of the
    initial weights does not matter after normalisation.

    Args:
        in_channels (int): Channels of the pixel features.
        num_classes (int): Number of classes (output channels).
        scale (float): Fixed logit scale ``1 / T_s``. Defaults to 30.0.
        eps (float): Floor of the norms in the normalisation.
            Defaults to 1e-6.

    Raises:
        UserError: If ``scale`` is not positive.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 scale: float = 30.0,
                 eps: float = 1e-6) -> None:
        super().__init__()
        if scale <= 0:
            raise UserError(f'scale must be positive, got {scale}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.scale = float(scale)
        self.eps = eps
        self.weight = nn.Parameter(
            torch.empty(num_classes, in_channels, 1, 1))
        nn.init.normal_(self.weight, std=0.01)

    def forward(self, features: Tensor) -> Tensor:
        """Classify every pixel.

        Args:
            features (Tensor): Pixel features, shape (B, in_channels, H, W).

        Returns:
            Tensor: Logits ``scale * cos``, shape (B, num_classes, H, W).
        """
        features = F.normalize(features, dim=1, eps=self.eps)
        weight = F.normalize(self.weight, dim=1, eps=self.eps)
        return self.scale * F.conv2d(features, weight)

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'num_classes={self.num_classes}, scale={self.scale}')
