"""Load a plain mmseg decode head's weights into a head that wraps it."""
import torch.nn as nn
from mmengine.logging import print_log


def move_plain_head_keys(state_dict: dict, prefix: str,
                         decoder: nn.Module) -> int:
    """Move a plain head's decoder weights under ``<prefix>decoder.``.

    A checkpoint of a model trained without GML (``load_from``, fine-tuning)
    holds the decoder's weights directly under the head's prefix; a head
    that wraps the decoder holds them under ``decoder.``. Keys that the
    decoder has are moved in place; ``conv_seg.*`` stays, so it loads into
    the wrapping head's classifier. A state dict that already has
    ``decoder.`` keys (a GML head's own checkpoint) is left alone.

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
