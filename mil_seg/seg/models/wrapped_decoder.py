"""What a head that wraps an mmseg decode head takes over from it."""
from typing import Any, Dict

from mmseg.models.decode_heads.decode_head import BaseDecodeHead


def wrapper_head_args(decoder: BaseDecodeHead) -> Dict[str, Any]:
    """``BaseDecodeHead.__init__`` arguments of a head wrapping ``decoder``.

    The wrapper (``GMLHead``, ``RegionRebalanceHead``) reads the same
    inputs as the decoder and classifies its features: it takes over the
    decoder's channels, inputs, classes, dropout, ignore index and
    ``align_corners``, with no loss of its own (each wrapper sets its own).

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
