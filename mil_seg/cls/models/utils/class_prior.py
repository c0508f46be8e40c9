"""Build the class prior of a classification module from its config."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mil_seg.gml import ClassPrior


def build_class_prior(num_classes: int,
                      prior: Optional[Union[dict, ClassPrior]] = None
                      ) -> ClassPrior:
    """Build a :class:`mil_seg.gml.ClassPrior` from a config.

    ``prior`` holds ClassPrior's arguments (``counts``, ``file``, ``tau``,
    ``smoothing``, ``mode``...). Without ``counts`` and ``file`` the prior
    starts empty (uniform) and :class:`ClassCountsHook` fills it with the
    training dataset's class counts before training; a checkpoint restores
    it (``counts`` is a buffer), so testing needs no training data.

    Args:
        num_classes (int): Number of classes C.
        prior (dict | ClassPrior, optional): The config, or a built prior.
            Defaults to None (empty, filled by the hook).

    Returns:
        ClassPrior: The prior.
    """
    if isinstance(prior, nn.Module):
        return prior
    cfg = dict(prior or {})
    cfg.pop('type', None)
    if cfg.get('counts') is None and cfg.get('file') is None:
        # Empty until ClassCountsHook (or a checkpoint) fills the counts;
        # 'online' is ClassPrior's only mode that starts without counts.
        cfg['mode'] = 'online'
    return ClassPrior(num_classes=num_classes, **cfg)


def prior_is_empty(prior: ClassPrior) -> bool:
    """bool: True while a prior holds no count (it is then uniform)."""
    return bool(prior.counts.sum() <= 0)


@torch.no_grad()
def fill_class_prior(prior: ClassPrior, counts: Sequence[int]) -> None:
    """Write per-class training counts into a prior's ``counts`` buffer.

    Args:
        prior (ClassPrior): The prior to fill.
        counts (Sequence[int]): C counts.
    """
    counts = torch.as_tensor(counts, dtype=prior.counts.dtype).flatten()
    if counts.numel() != prior.num_classes:
        raise ValueError(f'{counts.numel()} class counts for a prior of '
                         f'{prior.num_classes} classes: set num_classes to '
                         "the training dataset's number of classes.")
    if counts.sum() <= 0 or (counts < 0).any():
        raise ValueError('class counts must be non-negative and not all 0.')
    prior.counts.copy_(counts.to(prior.counts.device))
