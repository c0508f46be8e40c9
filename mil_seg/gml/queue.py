"""Class-balanced feature queue: one FIFO ring of slots per class."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine import dist
from torch import Tensor

from ..errors import UserError
from .prior import PriorConfig, build_class_prior


class ClassBalancedQueue(nn.Module):
    """A queue of K features in which every class owns a FIFO ring of slots.

    Class c owns ``slot_size[c] ~= base_size + (size - C * base_size) *
    pi_c`` consecutive slots starting at ``slot_start[c]`` (rounded by the
    largest-remainder method so that the slots sum exactly to ``size``): a
    head class keeps many keys, a tail class keeps at least ``base_size``.
    A new feature of class c overwrites the oldest feature of class c.

    The queue owns its layout and follows its prior: it lays the slots out
    from the prior when built and, whenever it is empty (nothing pushed
    since it was built, laid out or reset), again before a push once the
    prior has counts. So a prior filled after the queue was built, by
    :class:`~mil_seg.engine.ClassCountsHook` or by an online prior's first
    update, lays out the queue before its first key, and no caller pushes
    a layout down. The prior is its owner's (a head's); the queue keeps a
    reference, not a copy.

    All state (features, slot owners, sample ids, slot layout, ring pointers,
    write counts) is in persistent buffers, so a checkpoint restores the
    queue exactly, layout included, without the training data (a restored
    queue that holds keys keeps its layout).

    The queue stores whatever the caller pushes (in GML: features BEFORE the
    key projection, which the caller applies to the whole queue each step).

    Args:
        num_classes (int): Number of classes C.
        size (int): Total number of slots K.
        dim (int): Feature size D.
        base_size (int): Minimum number of slots per class (paper: 2 on
            CIFAR, 3 on ImageNet-LT). Defaults to 2.
        prior (str | dict | Sequence[float] | ClassPrior, optional): The
            class prior whose probabilities share out the slots, anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts; a built
            ``ClassPrior`` is followed (see above). Defaults to None
            (uniform).
        max_writes_per_class (int, optional): Cap on the features of one
            class written per push (the newest are kept); the ring size
            always caps it too. Defaults to None (ring size only).
        gather_across_ranks (bool): Under data parallelism, gather the
            pushed features from all ranks (in rank order) before writing,
            so that every rank holds the same queue. Defaults to True.
    """

    def __init__(self,
                 num_classes: int,
                 size: int,
                 dim: int,
                 base_size: int = 2,
                 prior: PriorConfig = None,
                 max_writes_per_class: Optional[int] = None,
                 gather_across_ranks: bool = True) -> None:
        super().__init__()
        if num_classes < 1 or dim < 1:
            raise UserError('num_classes and dim must be >= 1, got '
                            f'num_classes={num_classes}, dim={dim}')
        if base_size < 1:
            raise UserError(f'base_size must be >= 1, got {base_size}: '
                            'every class needs at least one slot.')
        if size < num_classes * base_size:
            raise UserError(
                f'Queue size {size} is smaller than num_classes * base_size '
                f'= {num_classes} * {base_size} = {num_classes * base_size}: '
                'increase size or decrease base_size.')
        if max_writes_per_class is not None and max_writes_per_class < 1:
            raise UserError('max_writes_per_class must be >= 1 or None, '
                            f'got {max_writes_per_class}')
        self.num_classes = num_classes
        self.size = size
        self.dim = dim
        self.base_size = base_size
        self.max_writes_per_class = max_writes_per_class
        self.gather_across_ranks = gather_across_ranks

        self.register_buffer('features', torch.zeros(size, dim))
        self.register_buffer('labels', torch.zeros(size, dtype=torch.long))
        self.register_buffer('sample_ids',
                             torch.full((size, ), -1, dtype=torch.long))
        self.register_buffer('slot_start',
                             torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('slot_size',
                             torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('pointer',
                             torch.zeros(num_classes, dtype=torch.long))
        self.register_buffer('num_pushed',
                             torch.zeros(num_classes, dtype=torch.long))
        # True once a push is known to have written (saves a host sync per
        # step); reset with the queue.
        self._holds_keys = False
        self.allocate(prior)

    @torch.no_grad()
    def allocate(self, prior: PriorConfig = None) -> None:
        """Recompute the slot layout from a class prior, which the queue then
        follows, and clear the queue.

        Args:
            prior (str | dict | Sequence[float] | ClassPrior, optional): See
                the class docstring. Defaults to None (uniform).
        """
        prior = build_class_prior(prior, self.num_classes)
        # A reference, not a submodule: the prior's state is its owner's.
        self.__dict__['prior'] = prior
        probs = prior.probs_float64
        extra = self.size - self.num_classes * self.base_size
        ideal = extra * probs  # float64, sums to `extra`
        floor = ideal.floor()
        shortfall = extra - int(floor.sum().item())
        # Largest remainder: the `shortfall` classes with the largest
        # fractional parts get one more slot (stable sort: ties go to the
        # lower class index, so the layout is deterministic).
        order = torch.sort(ideal - floor, descending=True, stable=True)[1]
        bonus = torch.zeros_like(floor)
        bonus[order[:shortfall]] = 1
        slot_size = (self.base_size + floor + bonus).long()
        device = self.slot_size.device
        self.slot_size.copy_(slot_size.to(device))
        self.slot_start.copy_(torch.cumsum(self.slot_size, 0) - self.slot_size)
        self.labels.copy_(
            torch.repeat_interleave(
                torch.arange(self.num_classes, device=device),
                self.slot_size))
        self.reset()

    @torch.no_grad()
    def reset(self) -> None:
        """Empty the queue, keeping the slot layout."""
        self._holds_keys = False
        self.features.zero_()
        self.sample_ids.fill_(-1)
        self.pointer.zero_()
        self.num_pushed.zero_()

    def _gather(self, features: Tensor, labels: Tensor,
                sample_ids: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """All-gather a batch from every rank, in rank order; ranks may hold
        different batch sizes (padded to the largest, padding dropped)."""
        local_size = labels.new_tensor([labels.shape[0]])
        sizes = [int(s.item()) for s in dist.all_gather(local_size)]
        max_size = max(sizes)
        pad = max_size - labels.shape[0]
        if pad > 0:
            features = torch.cat([features, features.new_zeros(pad, self.dim)])
            labels = torch.cat([labels, labels.new_zeros(pad)])
            sample_ids = torch.cat([sample_ids, sample_ids.new_zeros(pad)])
        gathered = []
        for tensor in (features, labels, sample_ids):
            parts = dist.all_gather(tensor)
            gathered.append(
                torch.cat([part[:n] for part, n in zip(parts, sizes)]))
        return gathered[0], gathered[1], gathered[2]

    @torch.no_grad()
    def push(self,
             features: Tensor,
             labels: Tensor,
             sample_ids: Optional[Tensor] = None) -> None:
        """Write a batch of features into their classes' rings.

        Per class, the newest ``min(n_c, slot_size_c, max_writes_per_class)``
        items (by position in the batch, after gathering in rank order) are
        written in order at the ring pointer, overwriting the oldest keys.

        Args:
            features (Tensor): B x D features (detached, stored as float32).
            labels (Tensor): B classes in [0, C); filter ignore_index out
                before pushing. Not checked here: the adapters check a
                step's labels once (``check_labels``).
            sample_ids (Tensor, optional): B sample ids (long), used for
                self-exclusion. Defaults to None (stored as -1, never
                matching).
        """
        if features.dim() != 2 or features.shape[1] != self.dim:
            raise UserError(
                f'features have dim {tuple(features.shape)[1:]} but the queue '
                f'has dim {self.dim}: push B x {self.dim} features.')
        labels = labels.reshape(-1).long()
        if labels.shape[0] != features.shape[0]:
            raise UserError(f'{features.shape[0]} features but '
                            f'{labels.shape[0]} labels.')
        if sample_ids is None:
            sample_ids = torch.full_like(labels, -1)
        sample_ids = sample_ids.reshape(-1).long()
        if sample_ids.shape[0] != labels.shape[0]:
            raise UserError(f'{labels.shape[0]} labels but '
                            f'{sample_ids.shape[0]} sample_ids.')
        self._follow_prior()
        device = self.features.device
        features = features.detach().to(device=device,
                                        dtype=self.features.dtype)
        labels = labels.to(device)
        sample_ids = sample_ids.to(device)
        if self.gather_across_ranks and dist.get_world_size() > 1:
            features, labels, sample_ids = self._gather(
                features, labels, sample_ids)
        if labels.numel() == 0:
            return

        # Rank of each item among its class's items, in batch order.
        order = torch.sort(labels, stable=True)[1]
        sorted_labels = labels[order]
        class_count = torch.bincount(labels, minlength=self.num_classes)
        class_offset = torch.cumsum(class_count, 0) - class_count
        rank_in_class = (
            torch.arange(labels.numel(), device=device) -
            class_offset[sorted_labels])
        # Keep the newest `num_written` items of each class.
        num_written = torch.minimum(class_count, self.slot_size)
        if self.max_writes_per_class is not None:
            num_written = num_written.clamp_max(self.max_writes_per_class)
        first_kept = (class_count - num_written)[sorted_labels]
        kept = rank_in_class >= first_kept
        kept_labels = sorted_labels[kept]
        write_rank = (rank_in_class - first_kept)[kept]
        # num_written <= slot_size, so the slots of one push never collide.
        ring_size = self.slot_size[kept_labels]
        slot = self.slot_start[kept_labels] + (
            self.pointer[kept_labels] + write_rank) % ring_size
        source = order[kept]
        self.features[slot] = features[source]
        self.sample_ids[slot] = sample_ids[source]
        self.pointer.copy_((self.pointer + num_written) % self.slot_size)
        self.num_pushed += num_written

    @torch.no_grad()
    def _follow_prior(self) -> None:
        """Lay an empty queue out from its prior's current counts."""
        if self._holds_keys:
            return
        if bool(self.num_pushed.any()):
            self._holds_keys = True
        elif not self.prior.is_empty:
            self.allocate(self.prior)

    def valid_mask(self) -> Tensor:
        """Tensor: (K,) bool, True where a slot holds a written feature."""
        position = torch.arange(self.size, device=self.labels.device)
        position = position - self.slot_start[self.labels]
        filled = torch.minimum(self.num_pushed, self.slot_size)
        return position < filled[self.labels]

    def get(self) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Return the whole queue (fixed shapes, empty slots included).

        Returns:
            tuple[Tensor, Tensor, Tensor, Tensor]: ``features`` K x D,
            ``labels`` K, ``sample_ids`` K and ``valid`` K bool (pass it as
            ``key_mask`` to the contrastive terms).
        """
        return self.features, self.labels, self.sample_ids, self.valid_mask()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Load the queue whole or not at all.

        A checkpoint whose queue has another shape (queue size, feature
        dim or number of classes) is not loaded: a partly loaded queue
        (mmengine skips only the mismatched tensors) would mark slots as
        filled that hold no feature. The queue is emptied instead (its slot
        layout kept) and the reason goes to ``error_msgs``, which torch
        raises for a strict load and mmengine logs for a non-strict one.
        """
        self._holds_keys = False  # known again at the next push
        mismatched = [
            name for name, buffer in self._buffers.items()
            if prefix + name in state_dict
            and tuple(state_dict[prefix + name].shape) != tuple(buffer.shape)
        ]
        if not mismatched:
            super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                          strict, missing_keys,
                                          unexpected_keys, error_msgs)
            return
        theirs = state_dict.get(prefix + 'features')
        their_shape = 'x'.join(map(str, theirs.shape)) if hasattr(
            theirs, 'shape') else '?'
        error_msgs.append(
            f'{prefix.rstrip(".") or "queue"}: the checkpoint\'s queue has '
            f'{", ".join(mismatched)} of other shapes (features '
            f'{their_shape}, this queue {self.size}x{self.dim} for '
            f'{self.num_classes} classes), so the queue starts empty; to '
            'keep it, build the head with the checkpoint\'s queue size '
            '(queue=dict(size=...)), feature channels and num_classes.')
        self.reset()

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, size={self.size}, '
                f'dim={self.dim}, base_size={self.base_size}, '
                f'max_writes_per_class={self.max_writes_per_class}')
