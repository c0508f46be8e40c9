"""The thin CIFAR ResNets (ResNet-20/32/56/110) of He et al. (2016)."""
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.registry import MODELS

from mil_seg.errors import UserError


@MODELS.register_module()
class CIFARResNet(ResNet_CIFAR):
    """ResNet-(6n+2) for 32 x 32 images: three stages of n basic blocks with
    16, 32 and 64 channels (the CIFAR-LT backbones: ResNet-32 student,
    ResNet-56 teacher).

    mmpretrain's ``ResNet_CIFAR`` only has the ImageNet depths (18-152,
    64-512 channels); this subclass adds the thin CIFAR depths and
    defaults. Downsampling shortcuts are 1 x 1 convolutions (option B of
    the ResNet paper) rather than zero padding (option A).

    Args:
        depth (int): 20, 32, 44, 56 or 110. Defaults to 32.
        stem_channels (int): Channels of the 3 x 3 stem. Defaults to 16.
        base_channels (int): Channels of the first stage. Defaults to 16.
        num_stages (int): Defaults to 3.
        strides (tuple[int]): Defaults to (1, 2, 2).
        dilations (tuple[int]): Defaults to (1, 1, 1).
        out_indices (tuple[int]): Defaults to (2, ) (the 64-channel stage).
        **kwargs: Other arguments of :class:`mmpretrain.models.ResNet`.

    Raises:
        UserError: If ``depth`` is not one of the CIFAR depths.
    """

    arch_settings = {
        20: (BasicBlock, (3, 3, 3)),
        32: (BasicBlock, (5, 5, 5)),
        44: (BasicBlock, (7, 7, 7)),
        56: (BasicBlock, (9, 9, 9)),
        110: (BasicBlock, (18, 18, 18)),
    }

    def __init__(self,
                 depth: int = 32,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 num_stages: int = 3,
                 strides=(1, 2, 2),
                 dilations=(1, 1, 1),
                 out_indices=(2, ),
                 **kwargs) -> None:
        # mmpretrain's own check is a bare KeyError naming no valid depth.
        if depth not in self.arch_settings:
            raise UserError(f'CIFARResNet depth must be one of '
                            f'{sorted(self.arch_settings)}, got {depth!r}')
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=num_stages,
            strides=strides,
            dilations=dilations,
            out_indices=out_indices,
            **kwargs)
