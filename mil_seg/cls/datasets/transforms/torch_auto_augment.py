"""torchvision's AutoAugment with its preset policies (CIFAR-10 included)."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.registry import TRANSFORMS
from torchvision.transforms import AutoAugment, AutoAugmentPolicy

from mil_seg.errors import UserError


@TRANSFORMS.register_module()
class TorchAutoAugment(BaseTransform):
    """AutoAugment with a torchvision preset policy, on an ``img`` array.

    mmpretrain's own ``AutoAugment`` ships only ImageNet presets; the GML
    CIFAR recipe uses the CIFAR-10 policy (Cubuk et al., 2019), which
    torchvision provides. The image is an H x W x 3 uint8 array; the policy's
    colour operations (colour, contrast, ...) weight channels as RGB, so a
    BGR image (what ``LoadImageFromFile`` gives) is reversed before and after
    the policy.

    Required Keys: ``img``. Modified Keys: ``img``.

    Args:
        policy (str): ``'cifar10'``, ``'imagenet'`` or ``'svhn'``.
            Defaults to 'cifar10'.
        fill (int, optional): Fill value of geometric operations.
            Defaults to None (0).
        channel_order (str): ``'bgr'`` (images from ``LoadImageFromFile``)
            or ``'rgb'`` (CIFAR python batches). Defaults to 'bgr'.

    Raises:
        UserError: If ``policy`` or ``channel_order`` is unknown, or (when
            called) the image is not H x W x C uint8.
    """

    def __init__(self,
                 policy: str = 'cifar10',
                 fill=None,
                 channel_order: str = 'bgr') -> None:
        if channel_order not in ('bgr', 'rgb'):
            raise UserError("channel_order must be 'bgr' or 'rgb', got "
                            f'{channel_order!r}')
        policies = [preset.value for preset in AutoAugmentPolicy]
        if policy not in policies:
            raise UserError(f'policy must be one of {policies}, got '
                            f'{policy!r}')
        self.policy = policy
        self.fill = fill
        self.channel_order = channel_order
        self._augment = AutoAugment(AutoAugmentPolicy(policy), fill=fill)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim != 3 or img.dtype != np.uint8:
            raise UserError('TorchAutoAugment expects an H x W x C uint8 '
                            f'image, got {img.shape} {img.dtype}')
        if self.channel_order == 'bgr':
            img = img[..., ::-1]
        tensor = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)
        augmented = self._augment(tensor).permute(1, 2, 0).numpy()
        if self.channel_order == 'bgr':
            augmented = np.ascontiguousarray(augmented[..., ::-1])
        results['img'] = augmented
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(policy={self.policy!r}, '
                f'channel_order={self.channel_order!r})')
