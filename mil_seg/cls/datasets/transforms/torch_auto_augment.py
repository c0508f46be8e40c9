"""torchvision's AutoAugment with its preset policies (CIFAR-10 included)."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from torchvision.transforms import AutoAugment, AutoAugmentPolicy


@TRANSFORMS.register_module()
class TorchAutoAugment(BaseTransform):
    """AutoAugment with a torchvision preset policy, on an ``img`` array.

    mmpretrain's own ``AutoAugment`` ships only ImageNet presets; the GML
    CIFAR recipe uses the CIFAR-10 policy (Cubuk et al., 2019), which
    torchvision provides. The image is an H x W x 3 uint8 array; colour
    operations assume RGB order (CIFAR batches are RGB; images loaded with
    ``LoadImageFromFile`` are BGR, which only swaps the weights of the
    saturation operation).

    Required Keys: ``img``. Modified Keys: ``img``.

    Args:
        policy (str): ``'cifar10'``, ``'imagenet'`` or ``'svhn'``.
            Defaults to 'cifar10'.
        fill (int, optional): Fill value of geometric operations.
            Defaults to None (0).
    """

    def __init__(self, policy: str = 'cifar10', fill=None) -> None:
        self.policy = policy
        self.fill = fill
        self._augment = AutoAugment(AutoAugmentPolicy(policy), fill=fill)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.dtype != np.uint8:
            raise ValueError('TorchAutoAugment expects an H x W x C uint8 '
                             f'image, got {img.shape} {img.dtype}')
        tensor = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
        results['img'] = self._augment(tensor).permute(1, 2, 0).numpy()
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(policy={self.policy!r})'
