"""The contrast step both adapters share: projector, queue, key embedding."""
from typing import Callable, Dict, Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .prior import PriorConfig
from .queue import ClassBalancedQueue


def build_projector(in_channels: int, hidden_channels: int,
                    out_channels: int) -> nn.Sequential:
    """Two-layer MLP projector ``Linear - ReLU - Linear`` (MoCo v2's).

    No batch norm: the key projector runs on the whole queue, empty slots
    included, whose statistics must not leak into a normalisation.

    Args:
        in_channels (int): Input feature size.
        hidden_channels (int): Hidden size.
        out_channels (int): Embedding size D.

    Returns:
        nn.Sequential: The projector.
    """
    return nn.Sequential(
        nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
        nn.Linear(hidden_channels, out_channels))


class ContrastiveBranch(nn.Module):
    """Projector and class-balanced queue of GML's contrastive terms, and
    the step that turns a batch into the inputs of :class:`GMLLoss`.

    Every training step (:meth:`forward`): the batch's key features
    (detached, before any projection) are pushed into the queue, gathered
    across ranks, BEFORE the loss; the whole queue is then read and
    embedded by the key projector, and the queries by ``projector``; both
    are L2-normalised. The queue stores pre-projection features, so keys
    never go stale with respect to the projector, and it is projected whole
    (empty slots are masked in the loss): fixed shapes, no host
    synchronisation.

    The keys are embedded by, in order: the projector the caller passes (a
    momentum copy of ``projector``, classification's single stage), the
    trainable ``key_projector`` (built when ``key_in_channels`` is set:
    keys are a frozen teacher's features, two stages), else ``projector``
    itself (segmentation's single stage: the head's own detached features).

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Size F of the query features.
        embed_dim (int): Size D of the contrastive embedding.
            Defaults to 128.
        projector_hidden_channels (int, optional): Hidden size of the
            projectors. Defaults to None (each projector's input size).
        key_in_channels (int, optional): Size of a frozen teacher's key
            features; builds the trainable ``key_projector``. Defaults to
            None (keys of size F).
        queue (dict): :class:`ClassBalancedQueue` arguments other than
            ``num_classes``, ``dim`` and ``prior`` (``size``, ``base_size``,
            ``max_writes_per_class``). Defaults to ``dict(size=16384,
            base_size=2)``.
        prior (str | dict | ClassPrior, optional): The prior that lays out
            the queue's slots; a built one is followed (an empty prior lays
            the queue out once it has counts). Defaults to None (uniform).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 embed_dim: int = 128,
                 projector_hidden_channels: Optional[int] = None,
                 key_in_channels: Optional[int] = None,
                 queue: dict = dict(size=16384, base_size=2),
                 prior: PriorConfig = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.key_in_channels = key_in_channels
        self.projector = build_projector(
            in_channels, projector_hidden_channels or in_channels, embed_dim)
        self.key_projector = None
        if key_in_channels is not None:
            self.key_projector = build_projector(
                key_in_channels, projector_hidden_channels
                or key_in_channels, embed_dim)
        self.queue = ClassBalancedQueue(
            num_classes,
            dim=key_in_channels or in_channels,
            prior=prior,
            **dict(queue))

    def embed(self, features: Tensor) -> Tensor:
        """L2-normalised query embeddings (N x D) of N x F features."""
        return F.normalize(self.projector(features), dim=1)

    def forward(self,
                query_features: Tensor,
                query_labels: Tensor,
                key_features: Tensor,
                key_labels: Tensor,
                query_ids: Optional[Tensor] = None,
                key_ids: Optional[Tensor] = None,
                key_projector: Optional[Callable[[Tensor], Tensor]] = None
                ) -> Dict[str, Tensor]:
        """Push the batch's keys, read the queue and embed both sides.

        Every rank must call it every step, even with no key, so that the
        queue's gather never hangs.

        Args:
            query_features (Tensor): N x F query features (with gradient).
            query_labels (Tensor): N query classes.
            key_features (Tensor): M x F_k key features to push (detached
                here).
            key_labels (Tensor): M key classes in [0, C).
            query_ids (Tensor, optional): N sample ids of the queries, for
                the self-exclusion of ``L_con_T``. Defaults to None.
            key_ids (Tensor, optional): M sample ids of the pushed keys.
                Defaults to None (stored as -1, never matching).
            key_projector (callable, optional): Embeds the queue instead of
                the branch's own (a momentum copy). Defaults to None.

        Returns:
            dict[str, Tensor]: Keyword arguments of the contrastive part of
            :class:`GMLLoss`: ``query`` N x D, ``keys`` K x D, ``key_labels``
            K, ``query_labels`` N, ``query_ids`` N, ``key_ids`` K and
            ``key_mask`` K (filled slots).
        """
        self.queue.push(key_features.detach(), key_labels, key_ids)
        queue_features, queue_labels, queue_ids, filled = self.queue.get()
        query = self.embed(query_features)  # N x D
        projector = key_projector or self.key_projector or self.projector
        keys = F.normalize(
            projector(queue_features.to(query_features.dtype)),
            dim=1)  # K x D
        return dict(
            query=query,
            keys=keys,
            key_labels=queue_labels,
            query_labels=query_labels,
            query_ids=query_ids,
            key_ids=queue_ids if query_ids is not None else None,
            key_mask=filled)
