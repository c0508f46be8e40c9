"""Pure functions of the GML loss (Suh & Seo, ICML 2023).

Everything here is vectorised over samples, keys and classes (no Python loop
over any of them) and task-agnostic: a "sample" is an image for
classification and a pixel for segmentation. Shapes in comments use
N = queries (anchors), K = keys, C = classes, D = embedding size.
"""
import contextlib
import math
from typing import Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError

# Lower bound applied to log T_c inside the contrastive terms. T_c = 1e-4
# already turns a cosine similarity of 1 into a logit of 1e4; below it,
# q.k / T_c can overflow float32 for un-normalised features. The bound only
# acts on a diverged temperature (the paper's values are 0.07-0.1).
MIN_LOG_TEMPERATURE = math.log(1e-4)
# Upper bound on log T_c: above 1e4 all keys look alike and the gradient of
# the temperature term vanishes anyway; the bound keeps 1 / T_c a normal float.
MAX_LOG_TEMPERATURE = math.log(1e4)


def float32_no_autocast(tensor: Tensor):
    """Context that disables autocast on the device type of ``tensor``.

    The log-mean-exp and the soft-max terms lose the tail classes in half
    precision (exp underflows at -17 in fp16), so they always run in float32.
    """
    try:
        return torch.autocast(device_type=tensor.device.type, enabled=False)
    except RuntimeError:  # a device type without autocast support
        return contextlib.nullcontext()


def masked_cross_entropy(scores: Tensor, labels: Tensor,
                         class_mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Per-row cross-entropy restricted to the classes where the mask is True.

    Args:
        scores (Tensor): N x C logits.
        labels (Tensor): N target classes (long). A label outside [0, C)
            (e.g. an ignore index) makes its row invalid.
        class_mask (Tensor): bool, N x C or C; True = class takes part in the
            row's soft-max.

    Returns:
        tuple[Tensor, Tensor]: ``loss`` N (0 where invalid, with zero
        gradient) and ``valid`` N bool: the target is a real class and is not
        masked out of its row.
    """
    num_classes = scores.shape[1]
    class_mask = class_mask.to(torch.bool).expand_as(scores)
    in_range = (labels >= 0) & (labels < num_classes)
    safe_labels = torch.where(in_range, labels, torch.zeros_like(labels))
    valid = in_range & class_mask.gather(1, safe_labels[:, None]).squeeze(1)

    # A valid row has at least its target class unmasked, so its logsumexp is
    # finite; invalid rows are replaced by zeros so that they cannot make NaN.
    keep = class_mask & valid[:, None]
    masked_scores = torch.where(keep, scores, scores.new_tensor(float('-inf')))
    masked_scores = torch.where(valid[:, None], masked_scores,
                                torch.zeros_like(scores))
    log_normaliser = torch.logsumexp(masked_scores, dim=1)
    target_scores = masked_scores.gather(1, safe_labels[:, None]).squeeze(1)
    loss = torch.where(valid, log_normaliser - target_scores,
                       torch.zeros_like(log_normaliser))
    return loss, valid


def check_labels(labels: Tensor, num_classes: int, ignore_index: int) -> None:
    """Raise a clear error for labels outside ``[0, num_classes)`` that are
    not ``ignore_index`` (PyTorch's cross-entropy fails on them with an
    index error on the CPU and a device-side assert on GPUs).

    The one label check: one host synchronisation per call, so each adapter
    calls it once per training step, where the labels enter the model; the
    losses, the prior and the queue downstream trust them.

    Args:
        labels (Tensor): Class indices, any shape.
        num_classes (int): Number of classes C.
        ignore_index (int): The ignored label value.
    """
    bad = (labels != ignore_index) & ((labels < 0) | (labels >= num_classes))
    if bool(bad.any()):
        values = torch.unique(labels[bad])[:8].tolist()
        raise UserError(
            f'labels {values} are outside [0, {num_classes}) and are not '
            f'ignore_index={ignore_index}: set num_classes of the model (and '
            "of its teacher) to the dataset's number of classes, or fix the "
            "dataset's labels (e.g. reduce_zero_label or a label map).")


def cross_entropy(logits: Tensor,
                  labels: Tensor,
                  ignore_index: int = -100,
                  reduction: str = 'mean',
                  avg_non_ignore: bool = True,
                  weight: Optional[Tensor] = None) -> Tensor:
    """Cross-entropy with MMSegmentation's averaging, in float32.

    Logit-adjusted cross-entropy is ``cross_entropy(prior.adjust(logits),
    labels)``: the adjustment belongs to :class:`~mil_seg.gml.ClassPrior`.
    The averaging follows MMSegmentation's ``CrossEntropyLoss``, not
    PyTorch's weighted mean: the summed (optionally class-weighted) loss is
    divided by the number of non-ignored elements (``avg_non_ignore=True``)
    or of all elements (``avg_non_ignore=False``). Without ``weight`` and with
    ``avg_non_ignore=True`` it equals ``F.cross_entropy(logits, labels,
    ignore_index=ignore_index)``. Labels are not checked here (see
    :func:`check_labels`).

    Args:
        logits (Tensor): N x C or N x C x H x W logits.
        labels (Tensor): N or N x H x W class indices (long).
        ignore_index (int): Label value that is ignored. Defaults to -100.
        reduction (str): 'mean', 'sum' or 'none'. 'none' returns the
            per-element loss, 0 at ignored elements. Defaults to 'mean'.
        avg_non_ignore (bool): Divide by the number of non-ignored elements
            rather than by all elements. Defaults to True.
        weight (Tensor, optional): C class weights. Defaults to None.

    Returns:
        Tensor: scalar, or the per-element loss for ``reduction='none'``.
        With every element ignored: 0 with a (zero) gradient.
    """
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', "
                         f'got {reduction!r}')
    with float32_no_autocast(logits):
        logits = logits.float()
        if weight is not None:
            weight = weight.float().to(logits.device)
        # 'sum' inside the kernel (not .sum() of 'none') so that the mean
        # is bit-identical to F.cross_entropy's own mean when it applies.
        loss = F.cross_entropy(
            logits,
            labels,
            weight=weight,
            ignore_index=ignore_index,
            reduction='none' if reduction == 'none' else 'sum')
    if reduction in ('none', 'sum'):
        return loss
    num_elements = mean_divisor(labels, ignore_index,
                                avg_non_ignore=avg_non_ignore)
    # clamp: an all-ignored batch gives 0 / 1 = 0, with a defined gradient.
    return loss / num_elements.clamp_min(1).to(loss.dtype)


def mean_divisor(labels: Tensor,
                 ignore_index: int,
                 class_weight: Optional[Tensor] = None,
                 avg_non_ignore: bool = True) -> Tensor:
    """The divisor of a mean loss, MMSegmentation's rule: the number of
    (non-ignored) elements, or with class weights their summed weights (the
    weighted mean). An ignored label never indexes the weights.

    Args:
        labels (Tensor): Class indices (long).
        ignore_index (int): Ignored label value.
        class_weight (Tensor, optional): C class weights. Defaults to None.
        avg_non_ignore (bool): Count the non-ignored elements only; without
            it every element counts (an ignored one with class 0's
            weight). Defaults to True.

    Returns:
        Tensor: A float scalar (0 when nothing counts).
    """
    not_ignored = labels != ignore_index
    if class_weight is None:
        return (not_ignored.sum() if avg_non_ignore else labels.new_tensor(
            labels.numel())).float()
    safe_labels = torch.where(not_ignored, labels, torch.zeros_like(labels))
    label_weight = class_weight[safe_labels]
    if avg_non_ignore:
        label_weight = label_weight * not_ignored
    return label_weight.sum()


def matching_pairs(query_ids: Tensor, key_ids: Tensor) -> Tensor:
    """Every (key, query) pair whose ids are equal and non-negative.

    Found through the sorted key ids (a sort of K, a binary search per
    query), never through an N x K comparison. The number of pairs decides
    the output's size, so this costs one host synchronisation.

    Args:
        query_ids (Tensor): N ids (long); negative ids match nothing.
        key_ids (Tensor): K ids (long); negative ids match nothing.

    Returns:
        Tensor: P flat indices ``key * N + query`` into a K x N matrix
        (long), each pair once.
    """
    num_queries = query_ids.shape[0]
    query_ids = query_ids.to(device=key_ids.device, dtype=torch.long)
    sorted_ids, order = torch.sort(key_ids.long())
    first = torch.searchsorted(sorted_ids, query_ids)
    last = torch.searchsorted(sorted_ids, query_ids, right=True)
    count = torch.where(query_ids >= 0, last - first,
                        torch.zeros_like(first))
    query_index = torch.repeat_interleave(
        torch.arange(num_queries, device=key_ids.device), count)
    start = torch.cumsum(count, 0) - count
    rank = torch.arange(query_index.shape[0], device=key_ids.device) - (
        start[query_index])
    key_index = order[first[query_index] + rank]
    return key_index * num_queries + query_index


class _ClassScores(torch.autograd.Function):
    """Per-class log-mean-exp scores of both contrastive terms in one pass.

    Both terms have the same logits ``a[j, n] = q_n.k_j / T_j``; they differ
    in the keys they use (``L_con_T`` also leaves out the ``temp_pairs``) and
    in what they train (``L_con`` query and keys, ``L_con_T`` the
    temperature), so one similarity, one per-class maximum and one
    exponential serve both, and the backward writes the two gradient paths
    by hand. Layout is K x N (key-major): a per-class reduction is then a
    row-wise ``index_add_`` / ``scatter_reduce_`` over the key labels, in any
    order of the keys, with no K x C matrix. Two K x N float32 buffers are
    allocated, in the forward, and no more: the exponentials, and the
    logits, whose buffer the backward reuses for their gradient (no third
    allocation, which on a CPU costs as much as an element-wise pass).

    Forward, with ``m[c, n]`` the maximum of class c over the keys usable in
    ``L_con_T`` (the shift; detached, log-mean-exp is invariant to it) and
    ``E = exp(a - m)`` (0 where a key is not used):

    - ``s^T[c, n] = log(sum_c E) + m - log(count^T)``;
    - ``s[c, n]`` adds the few ``temp_pairs`` keys (read from the sparse
      pair list) to those sums, both rescaled to the maximum over all of
      L_con's keys: never by subtracting, so a dominant own key cannot
      cancel the rest of its class, and nothing overflows.

    Backward: ``d s[c, n] / d a[j, n]`` is the within-class soft-max weight
    of key j (``E * exp(m - max) / sums``, no large shift added and
    removed), and ``d a / d log T = -a``, so ``d s^T / d log T_c =
    -E_p[a]``, which the forward keeps as the C x N sums ``sum_c E * (a -
    m)``.
    """

    @staticmethod
    def forward(ctx, query: Tensor, keys: Tensor, log_temperature: Tensor,
                key_labels: Tensor, num_classes: int,
                key_mask: Optional[Tensor], both_pairs: Optional[Tensor],
                temp_pairs: Optional[Tensor]):
        num_queries, num_keys = query.shape[0], keys.shape[0]
        neg_inf = float('-inf')
        temperature = log_temperature.exp()  # C
        # K x N, buffer 1; 1 / T_j scales the K x D keys, not the logits
        logits = (keys / temperature[key_labels][:, None]) @ query.t()
        if key_mask is not None:
            usable = key_mask.to(torch.bool)
            logits.masked_fill_(
                ~(usable[:, None] if usable.dim() == 1 else usable.t()),
                neg_inf)
        # Usable keys per (class, query) in L_con: C x N, float (exact).
        if key_mask is None or key_mask.dim() == 1:
            count = logits.new_zeros(num_classes).index_add_(
                0, key_labels,
                logits.new_ones(num_keys) if key_mask is None else
                key_mask.to(logits.dtype))
            count = count[:, None].expand(num_classes, num_queries)
        else:  # a caller's own N x K mask: its counts take one K x N pass
            count = logits.new_zeros(num_classes, num_queries).index_add_(
                0, key_labels, key_mask.t().to(logits.dtype))
        count = count.contiguous()

        def drop(pairs: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
            # The pairs' logits (-inf where already unused), their cells in
            # C x N, and the pairs left out of the counts.
            flat = logits.view(-1)
            values = flat[pairs]
            used = values > neg_inf
            cells = key_labels[torch.div(
                pairs, num_queries, rounding_mode='floor')] * num_queries + (
                    pairs % num_queries)
            flat.index_fill_(0, pairs, neg_inf)
            return values, used, cells

        if both_pairs is not None:
            _, used, cells = drop(both_pairs)
            count.view(-1).index_add_(0, cells, -used.to(count.dtype))
        count_temp = count
        if temp_pairs is not None:
            pair_logits, pair_used, pair_cells = drop(temp_pairs)
            count_temp = count.clone().view(-1).index_add_(
                0, pair_cells, -pair_used.to(count.dtype)).view_as(count)
        has_key = count > 0
        has_key_temp = count_temp > 0

        # Per-class shift over the keys of L_con_T: C x N, 0 where empty.
        index = key_labels[:, None].expand(num_keys, num_queries)
        shift = logits.new_full((num_classes, num_queries), neg_inf)
        shift.scatter_reduce_(0, index, logits, reduce='amax')
        shift = torch.where(
            torch.isfinite(shift), shift, torch.zeros_like(shift))
        exp_shifted = torch.index_select(shift, 0, key_labels)  # buffer 2
        logits.sub_(exp_shifted)  # a - m, -inf where unused
        torch.exp(logits, out=exp_shifted)  # in [0, 1]
        sums = logits.new_zeros(num_classes, num_queries).index_add_(
            0, key_labels, exp_shifted)
        weighted = None
        if ctx.needs_input_grad[2]:
            # sum_c E * (a - m); where E = 0 (unused or underflowed keys),
            # the clamp turns 0 * -inf into 0.
            logits.clamp_min_(torch.finfo(logits.dtype).min)
            logits.mul_(exp_shifted)
            weighted = logits.new_zeros(num_classes, num_queries).index_add_(
                0, key_labels, logits)

        tiny = torch.finfo(sums.dtype).tiny
        # L_con_T: log-sum-exp over its keys, shifted by their maximum.
        lse_temp = torch.where(has_key_temp,
                               sums.clamp_min(tiny).log() + shift,
                               sums.new_tensor(neg_inf))
        # L_con adds the pairs' keys, in sums shifted by the maximum over
        # all its keys (``con_shift``): no term is subtracted, none
        # overflows, and the soft-max weights of the backward come out of
        # ``con_scale`` without the shift ever being added back.
        con_shift = shift
        con_sums = sums
        con_scale = None  # exp(shift - con_shift) / con_sums
        if temp_pairs is not None:
            masked = torch.where(pair_used, pair_logits,
                                 pair_logits.new_tensor(neg_inf))
            pair_max = sums.new_full((num_classes * num_queries, ), neg_inf)
            pair_max.scatter_reduce_(0, pair_cells, masked, reduce='amax')
            pair_max = pair_max.view_as(sums)
            con_shift = torch.maximum(
                torch.where(has_key_temp, shift, sums.new_tensor(neg_inf)),
                pair_max)
            con_shift = torch.where(has_key, con_shift, torch.zeros_like(
                con_shift))
            pair_sums = sums.new_zeros(num_classes * num_queries)
            pair_sums.index_add_(
                0, pair_cells,
                (masked - con_shift.view(-1)[pair_cells]).exp())
            temp_share = torch.where(has_key_temp,
                                     (shift - con_shift).exp(),
                                     torch.zeros_like(shift))
            con_sums = sums * temp_share + pair_sums.view_as(sums)
            con_scale = temp_share / con_sums.clamp_min(tiny)
        lse = torch.where(has_key,
                          con_sums.clamp_min(tiny).log() + con_shift,
                          sums.new_tensor(neg_inf))
        if con_scale is None:
            con_scale = 1 / sums.clamp_min(tiny)
        zero = sums.new_zeros(())
        scores = torch.where(has_key, lse - count.clamp_min(1).log(), zero)
        scores_temp = torch.where(
            has_key_temp, lse_temp - count_temp.clamp_min(1).log(), zero)

        ctx.save_for_backward(query, keys, temperature, key_labels,
                              exp_shifted, shift, sums, weighted, con_shift,
                              con_sums, con_scale, has_key, has_key_temp)
        # buffer 1, kept as the backward's scratch for the logits' gradient
        ctx.workspace = logits
        ctx.pairs = None
        if temp_pairs is not None:
            ctx.pairs = (temp_pairs, pair_logits, pair_used, pair_cells)
        # 2N x C: the rows of L_con, then those of L_con_T
        both_scores = torch.cat([scores.t(), scores_temp.t()])
        both_has_key = torch.cat([has_key.t(), has_key_temp.t()])
        ctx.mark_non_differentiable(both_has_key)
        return both_scores, both_has_key

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_both, _grad_has_key):
        (query, keys, temperature, key_labels, exp_shifted, shift, sums,
         weighted, con_shift, con_sums, con_scale, has_key,
         has_key_temp) = ctx.saved_tensors
        num_queries = query.shape[0]
        grad_scores = grad_both[:num_queries].t()  # C x N
        grad_scores_temp = grad_both[num_queries:].t()
        grad_query = grad_keys = grad_log_temperature = None
        zero = sums.new_zeros(())
        with float32_no_autocast(query):
            if ctx.needs_input_grad[2]:
                # d s^T[c, n] / d log T_c = -E_p[a]
                #   = -(m + sum E * (a - m) / sum E)
                expected = shift + weighted / sums.clamp_min(
                    torch.finfo(sums.dtype).tiny)
                grad_log_temperature = -torch.where(
                    has_key_temp, grad_scores_temp * expected,
                    zero).sum(1)
            if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
                grad = torch.where(has_key, grad_scores, zero)  # C x N
                # soft-max weight of a key of L_con_T = E * con_scale, of a
                # pair's key exp(a - con_shift) / con_sums; the 1 / T of
                # L_con's a = q.k / sg(T) folded in per class.
                factor = torch.where(has_key & has_key_temp,
                                     grad * con_scale,
                                     zero) / temperature[:, None]
                grad_logits = torch.index_select(
                    factor, 0, key_labels, out=ctx.workspace)
                grad_logits.mul_(exp_shifted)  # K x N
                if ctx.pairs is not None:
                    pairs, pair_logits, pair_used, pair_cells = ctx.pairs
                    exponent = torch.where(
                        pair_used,
                        pair_logits - con_shift.view(-1)[pair_cells], zero)
                    weight = torch.where(
                        pair_used, exponent.exp() /
                        con_sums.view(-1)[pair_cells].clamp_min(
                            torch.finfo(con_sums.dtype).tiny), zero)
                    pair_keys = torch.div(
                        pairs, num_queries, rounding_mode='floor')
                    grad_logits.view(-1).index_add_(
                        0, pairs, grad.view(-1)[pair_cells] * weight /
                        temperature[key_labels[pair_keys]])
                if ctx.needs_input_grad[0]:
                    grad_query = grad_logits.t() @ keys
                if ctx.needs_input_grad[1]:
                    grad_keys = grad_logits @ query
        return (grad_query, grad_keys, grad_log_temperature, None, None, None,
                None, None)


def gml_contrastive_terms(query: Tensor,
                          keys: Tensor,
                          key_labels: Tensor,
                          labels: Tensor,
                          adjust: Callable[[Tensor], Tensor],
                          log_temperature: Tensor,
                          query_ids: Optional[Tensor] = None,
                          key_ids: Optional[Tensor] = None,
                          key_mask: Optional[Tensor] = None,
                          query_group_ids: Optional[Tensor] = None,
                          key_group_ids: Optional[Tensor] = None
                          ) -> Dict[str, Tensor]:
    """Per-query contrastive terms of GML, ``L_con`` and ``L_con_T``.

    With ``T_j = exp(log_temperature[key_labels[j]])``:

    - ``L_con = CE(adjust(s), y)`` with ``s_c = log mean_{j: l_j = c}
      exp(q.k_j / sg(T_j))``. Trains query and keys, not the temperature.
      The query's own key may take part.
    - ``L_con_T = CE(adjust(s^T), y)`` with ``s^T_c = log mean_{j: l_j =
      c, id_j != id_n} exp(sg(q.k_j) / T_j)``. Trains only the temperature;
      keys of the query's own sample are excluded when ids are given.

    Each class is shifted by its own maximum, so a tail class far below
    the head classes never underflows to ``log(0)``. Classes without a
    usable key are left out of the row's soft-max; a query whose own class
    has no usable key is invalid (loss 0, no gradient). Computed in float32
    with autocast disabled, whatever the input dtype. ``log T`` is clamped
    to [MIN_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE] (1e-4 to 1e4) so that
    ``q.k / T`` stays finite; the clamp stops the gradient only outside
    that range. Both terms share one N x K similarity and one exponential
    (:class:`_ClassScores`); keys may come in any order of classes. The
    id arguments are matched without an N x K comparison
    (:func:`matching_pairs`, one host synchronisation each).

    Args:
        query (Tensor): N x D query embeddings (normally L2-normalised).
        keys (Tensor): K x D key embeddings (normally L2-normalised).
        key_labels (Tensor): K class of each key (long, in [0, C)).
        labels (Tensor): N class of each query (long). Labels outside [0, C)
            (an ignore index) give invalid rows.
        adjust (callable): The logit adjustment of the N x C class scores,
            ``ClassPrior.adjust`` (adds ``tau * log pi``, no gradient to the
            prior).
        log_temperature (Tensor): C log of the per-class temperature.
        query_ids (Tensor, optional): N sample id of each query (long).
            Defaults to None (no self-exclusion).
        key_ids (Tensor, optional): K sample id of each key (long). Negative
            ids (empty queue slots, unknown samples) never match. Defaults
            to None.
        key_mask (Tensor, optional): bool K or N x K, True = key usable
            (e.g. ``ClassBalancedQueue.valid_mask()``). Defaults to None.
        query_group_ids (Tensor, optional): N group of each query (long),
            e.g. its image: a query meets no key of its own group, in both
            terms (the cheap form of an N x K ``key_mask`` built from ids).
            Defaults to None.
        key_group_ids (Tensor, optional): K group of each key (long);
            negative groups never match. Defaults to None.

    Returns:
        dict[str, Tensor]: ``loss_con`` N, ``loss_temp`` N (float32, 0 where
        invalid), ``valid_con`` N bool, ``valid_temp`` N bool.
    """
    if (query_ids is None) != (key_ids is None):
        raise UserError('Pass both query_ids and key_ids (self-exclusion) '
                        'or neither.')
    if (query_group_ids is None) != (key_group_ids is None):
        raise UserError('Pass both query_group_ids and key_group_ids or '
                        'neither.')
    if query.shape[-1] != keys.shape[-1]:
        raise UserError(f'query dim {query.shape[-1]} != key dim '
                        f'{keys.shape[-1]}: project both to the same size.')
    num_classes = log_temperature.shape[0]
    with float32_no_autocast(query):
        query = query.float()
        device = query.device
        keys = keys.float().to(device)
        key_labels = key_labels.to(device)
        log_temperature = log_temperature.float().clamp(
            MIN_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE)
        if key_mask is not None:
            key_mask = key_mask.to(device)
        both_pairs = temp_pairs = None
        if query_group_ids is not None:
            both_pairs = matching_pairs(query_group_ids.to(device),
                                        key_group_ids.to(device))
        if query_ids is not None:
            # L_con_T only: including them drives T_c far too low.
            temp_pairs = matching_pairs(query_ids.to(device),
                                        key_ids.to(device))
        # 2N x C: the scores of L_con, then those of L_con_T
        scores, has_key = _ClassScores.apply(query, keys, log_temperature,
                                             key_labels, num_classes,
                                             key_mask, both_pairs, temp_pairs)
        loss, valid = masked_cross_entropy(
            adjust(scores), labels.to(device).repeat(2), has_key)
    num_queries = query.shape[0]
    return dict(
        loss_con=loss[:num_queries],
        loss_temp=loss[num_queries:],
        valid_con=valid[:num_queries],
        valid_temp=valid[num_queries:])


def distillation_kl(student_logits: Tensor,
                    teacher_logits: Tensor,
                    temperature: float = 4.0,
                    reduction: str = 'mean') -> Tensor:
    """Knowledge distillation ``T^2 * KL(softmax(t/T) || softmax(s/T))``.

    The KL divergence is summed over the class dim 1; the teacher is
    detached. Computed in float32.

    Args:
        student_logits (Tensor): N x C [x H x W] student logits.
        teacher_logits (Tensor): teacher logits, same shape.
        temperature (float): Softening temperature T. Defaults to 4.0.
        reduction (str): 'mean' (over all positions, i.e. batch-mean for
            N x C), 'sum' or 'none' (N [x H x W]). Defaults to 'mean'.

    Returns:
        Tensor: scalar, or the per-position KL for ``reduction='none'``.
    """
    if reduction not in ('mean', 'sum', 'none'):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', "
                         f'got {reduction!r}')
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f'student logits {tuple(student_logits.shape)} and '
                         f'teacher logits {tuple(teacher_logits.shape)} '
                         'differ in shape.')
    with float32_no_autocast(student_logits):
        log_student = F.log_softmax(student_logits.float() / temperature, 1)
        log_teacher = F.log_softmax(
            teacher_logits.detach().float() / temperature, 1)
        kl = F.kl_div(
            log_student, log_teacher, reduction='none',
            log_target=True).sum(1)
    kl = kl * temperature**2
    if reduction == 'none':
        return kl
    if reduction == 'sum':
        return kl.sum()
    return kl.mean()
