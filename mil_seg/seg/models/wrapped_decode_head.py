"""A decode head that wraps any MMSegmentation decode head: the one owner of
building, checking and stripping the wrapped head, and of loading a plain
head's checkpoint into it."""
from typing import Any, Dict, List, Optional

import torch.nn as nn
from mmengine.logging import print_log
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType
from torch import Tensor

from mil_seg.errors import UserError, WrongModuleError


class WrappedDecodeHead(BaseDecodeHead):
    """Base of the heads that add something to any mmseg decode head
    (:class:`GMLHead`, :class:`GMLCascadeHead`,
    :class:`RegionRebalanceHead`).

    It builds the wrapped head from its config as ``self.decoder``, checks
    it (a :class:`BaseDecodeHead`, a cascade head exactly when
    :attr:`wraps_cascade`, one logit per class), takes over its channels,
    inputs, classes, dropout ratio, ignore index and ``align_corners``
    (:meth:`head_args`), and strips its pixel classifier: the decoder's
    ``conv_seg``, ``dropout``, ``loss_decode`` and ``sampler`` leave it, so
    its ``forward`` returns the B x F x h x w features that fed ``cls_seg``
    (every mmseg 1.x head ends in ``self.cls_seg(features)``). With
    ``keep_decoder_classifier=True`` the stripped ``conv_seg``,
    ``loss_decode`` and ``sampler`` become this head's, so the pixel path
    stays the decoder's own; otherwise this head has mmseg's fresh
    ``conv_seg`` and no ``loss_decode`` (a subclass sets its own). This
    head's ``dropout`` is mmseg's, at the decoder's ratio.

    Checkpoints of the plain mmseg head (``load_from``, fine-tuning) load:
    the decoder's weights move under ``decoder.``
    (:meth:`_load_from_state_dict`) and ``conv_seg`` loads into this head's
    classifier.

    Args:
        decoder (dict): Config of the wrapped mmseg decode head.
        keep_decoder_classifier (bool): Make the decoder's ``conv_seg``,
            ``loss_decode`` and ``sampler`` this head's. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    #: Whether this head wraps cascade decode heads (they take the previous
    #: stage's output), and only those.
    wraps_cascade = False
    #: The wrapper that takes what this one refuses (named in the error).
    counterpart: Optional[str] = None

    def __init__(self,
                 decoder: ConfigType,
                 keep_decoder_classifier: bool = False,
                 init_cfg: OptConfigType = None) -> None:
        decoder = MODELS.build(decoder)
        self._check_decoder(decoder)
        super().__init__(**self.head_args(decoder), init_cfg=init_cfg)
        if keep_decoder_classifier:
            self.conv_seg = decoder.conv_seg
            self.loss_decode = decoder.loss_decode
            self.sampler = decoder.sampler
            if self.sampler is not None and hasattr(self.sampler, 'context'):
                self.sampler.context = self  # OHEM reads context.loss_decode
        # The decoder's forward now returns the features that fed cls_seg;
        # what it no longer uses is dropped (no stray settings in the repr).
        decoder.conv_seg = nn.Identity()
        decoder.dropout = None
        decoder.loss_decode = nn.ModuleList()
        decoder.sampler = None
        self.decoder = decoder

    def _check_decoder(self, decoder: nn.Module) -> None:
        """Refuse a decoder this head cannot wrap.

        Raises:
            WrongModuleError: If ``decoder`` is not a ``BaseDecodeHead``, or
                is a cascade head where :attr:`wraps_cascade` is False (or
                the reverse).
            UserError: If the decoder has not one logit per class.
        """
        name, kind = type(self).__name__, type(decoder).__name__
        if not isinstance(decoder, BaseDecodeHead):
            raise WrongModuleError(
                f'decoder must build a BaseDecodeHead, got {kind}')
        if isinstance(decoder, BaseCascadeDecodeHead) != self.wraps_cascade:
            other = f': wrap it with {self.counterpart}' \
                if self.counterpart else ''
            if self.wraps_cascade:
                raise WrongModuleError(
                    f'{kind} is not a cascade decode head{other}.')
            raise WrongModuleError(
                f"{kind} needs the previous stage's output: {name} wraps "
                f'single-stage heads only{other}.')
        if decoder.out_channels != decoder.num_classes:
            raise UserError(
                f'{name} needs one logit per class: remove out_channels=1 / '
                'use_sigmoid from the decoder.')

    @staticmethod
    def head_args(decoder: BaseDecodeHead) -> Dict[str, Any]:
        """``BaseDecodeHead.__init__`` arguments of a head wrapping
        ``decoder``.

        The wrapper reads the same inputs as the decoder and classifies its
        features: it takes over the decoder's channels, inputs, classes,
        dropout, ignore index and ``align_corners``, with no loss of its own.

        Args:
            decoder (BaseDecodeHead): The built, wrapped decode head.

        Returns:
            dict: Keyword arguments for ``BaseDecodeHead.__init__`` (all but
            ``init_cfg``).
        """
        in_channels, in_index = decoder.in_channels, decoder.in_index
        if decoder.input_transform == 'resize_concat':
            # _init_inputs sums them again: hand over one entry per input.
            in_channels = [in_channels] + [0] * (len(in_index) - 1)
        return dict(
            in_channels=in_channels,
            channels=decoder.channels,
            num_classes=decoder.num_classes,
            dropout_ratio=decoder.dropout_ratio,
            in_index=in_index,
            input_transform=decoder.input_transform,
            loss_decode=[],
            ignore_index=decoder.ignore_index,
            align_corners=decoder.align_corners)

    def _decode_features(self,
                         inputs: List[Tensor],
                         prev_output: Optional[Tensor] = None) -> Tensor:
        """Pixel features of the wrapped decoder, B x F x h x w
        (``prev_output``: the previous stage's logits, cascades only)."""
        return self.decoder(inputs, *(() if prev_output is None else
                                      (prev_output, )))

    def _load_from_state_dict(self, state_dict: dict, prefix: str,
                              local_metadata: dict, strict: bool,
                              missing_keys: List[str],
                              unexpected_keys: List[str],
                              error_msgs: List[str]) -> None:
        """Also load checkpoints of the plain mmseg head: its decoder's
        weights move under ``decoder.``; ``conv_seg`` (and ``loss_decode``)
        stay where this head holds them (a cosine classifier takes the
        weight's direction and leaves the bias unexpected)."""
        move_plain_head_keys(state_dict, prefix, self.decoder)
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)


def move_plain_head_keys(state_dict: dict, prefix: str,
                         decoder: nn.Module) -> int:
    """Move a plain head's decoder weights under ``<prefix>decoder.``.

    A checkpoint of a model trained with the plain head holds the decoder's
    weights directly under the head's prefix; a wrapping head holds them
    under ``decoder.``. Keys that the (stripped) decoder has are moved in
    place; ``conv_seg.*`` stays, so it loads into the wrapping head's
    classifier. A state dict that already has ``decoder.`` keys (a wrapping
    head's own checkpoint) is left alone.

    Args:
        state_dict (dict): The state dict being loaded (changed in place).
        prefix (str): The wrapping head's prefix in it.
        decoder (nn.Module): The wrapped decoder.

    Returns:
        int: Number of tensors moved.
    """
    decoder_prefix = prefix + 'decoder.'
    if any(key.startswith(decoder_prefix) for key in state_dict):
        return 0
    moved = [
        name for name in decoder.state_dict() if prefix + name in state_dict
    ]
    for name in moved:
        state_dict[decoder_prefix + name] = state_dict.pop(prefix + name)
    if moved:
        print_log(
            f'{len(moved)} tensors of a plain mmseg decode head loaded into '
            f'{decoder_prefix.rstrip(".")}',
            logger='current')
    return len(moved)
