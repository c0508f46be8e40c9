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

from ..launch.errors import UserError

# Lower bound applied to log T_c inside the contrastive terms. T_c = 1e-4
# already turns a cosine similarity of 1 into a logit of 1e4; below it,
# q.k / T_c can overflow float32 for un-normalised features. The bound only
# acts on a diverged temperature (the paper's values are 0.07-0.1).
MIN_LOG_TEMPERATURE = math.log(1e-4)
# Upper bound on log T_c: above 1e4 all keys look alike and the gradient of
# the temperature term vanishes anyway; the bound keeps 1 / T_c a normal float.
MAX_LOG_TEMPERATURE = math.log(1e4)
# Per-class sums go through a K x C one-hot matrix product while that matrix
# has at most this many elements (128 MiB in float32); beyond it (thousands
# of classes) through scatter_add, which needs no K x C matrix. The
# element-wise N x K passes, not the sums, dominate the cost
# (tools/benchmarks/gml_loss_scaling.py measures it).
ONE_HOT_MAX_ELEMENTS = 2**25


def float32_no_autocast(tensor: Tensor):
    """Context that disables autocast on the device type of ``tensor``.

    The log-mean-exp and the soft-max terms lose the tail classes in half
    precision (exp underflows at -17 in fp16), so they always run in float32.
    """
    try:
        return torch.autocast(device_type=tensor.device.type, enabled=False)
    except RuntimeError:  # a device type without autocast support
        return contextlib.nullcontext()


def class_log_mean_exp(similarity: Tensor,
                       key_labels: Tensor,
                       num_classes: int,
                       key_mask: Optional[Tensor] = None
                       ) -> Tuple[Tensor, Tensor]:
    """Per-class log-mean-exp of query-key similarities.

    ``scores[n, c] = log(mean_{j: key_labels[j] = c, key_mask[n, j]}
    exp(similarity[n, j]))``. Each class is shifted by its own maximum (not
    the row maximum), so a tail class whose similarities are far below the
    head classes' never underflows to ``log(0)``. The shift is detached:
    log-mean-exp is invariant to it, so values and gradients are exact.
    Per-class sums use a one-hot matrix product (see
    ``ONE_HOT_MAX_ELEMENTS``); if TF32 matrix products are switched on
    (``torch.backends.cuda.matmul.allow_tf32``, off by default) those sums
    carry ~1e-3 relative error.

    Args:
        similarity (Tensor): N x K similarities, already divided by the
            temperature of each key. Any floating dtype; computed in its dtype
            (callers pass float32).
        key_labels (Tensor): K class index of each key (long, in [0, C)).
        num_classes (int): C, the number of classes.
        key_mask (Tensor, optional): bool mask of the keys to use, either K
            (same for every query) or N x K (per query, e.g. to exclude the
            query's own keys). True = key used. Defaults to None (all keys).

    Returns:
        tuple[Tensor, Tensor]: ``scores`` N x C (float, dtype of
        ``similarity``) and ``has_key`` N x C bool. Where a class has no used
        key, ``has_key`` is False and ``scores`` holds the finite placeholder
        0 (and passes no gradient): callers must mask those classes out.
    """
    num_queries, num_keys = similarity.shape
    # index: N x K (a stride-0 view, no copy)
    index = key_labels.view(1, num_keys).expand(num_queries, num_keys)
    if key_mask is None:
        mask = torch.ones_like(similarity, dtype=torch.bool)
    else:
        mask = key_mask.to(torch.bool).expand(num_queries, num_keys)
    neg_inf = similarity.new_tensor(float('-inf'))

    # Per-class maximum over the used keys: N x C, -inf for empty classes.
    masked_similarity = torch.where(mask, similarity.detach(), neg_inf)
    class_max = similarity.new_full((num_queries, num_classes),
                                    float('-inf'))
    class_max.scatter_reduce_(
        1, index, masked_similarity, reduce='amax', include_self=True)
    class_max = torch.where(
        torch.isfinite(class_max), class_max, torch.zeros_like(class_max))

    # exp(s - max_c) is in (0, 1] for used keys; unused keys get exp(-inf) = 0
    # (the where comes before the exp so an unused key can never overflow).
    shifted = torch.where(mask, similarity - class_max.gather(1, index),
                          neg_inf)
    exp_shifted = shifted.exp()  # N x K
    use_one_hot = num_keys * num_classes <= ONE_HOT_MAX_ELEMENTS
    if use_one_hot:
        # K x C; exact in float32 (0/1 entries, products with one term).
        one_hot = F.one_hot(key_labels, num_classes).to(similarity.dtype)
        sums = exp_shifted @ one_hot  # N x C
    else:
        sums = similarity.new_zeros((num_queries, num_classes))
        sums = sums.scatter_add(1, index, exp_shifted)  # N x C
    if key_mask is None or key_mask.dim() == 1:
        # the same keys for every query: count them once
        used = key_labels if key_mask is None else key_labels[key_mask.to(
            torch.bool)]
        counts = torch.bincount(used, minlength=num_classes).to(
            similarity.dtype).expand(num_queries, num_classes)
    elif use_one_hot:
        counts = mask.to(similarity.dtype) @ one_hot
    else:
        counts = similarity.new_zeros((num_queries, num_classes))
        counts = counts.scatter_add(1, index, mask.to(similarity.dtype))
    has_key = counts > 0

    # A class with a key has sums >= 1 (its max contributes exp(0)), so the
    # clamps only touch the masked-out placeholders: no log(0), no 0 division.
    tiny = torch.finfo(similarity.dtype).tiny
    scores = sums.clamp_min(tiny).log() - counts.clamp_min(1).log() + class_max
    scores = torch.where(has_key, scores, torch.zeros_like(scores))
    return scores, has_key


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
    if avg_non_ignore:
        num_elements = (labels != ignore_index).sum()
    else:
        num_elements = labels.new_tensor(labels.numel())
    # clamp: an all-ignored batch gives 0 / 1 = 0, with a defined gradient.
    return loss / num_elements.clamp_min(1).to(loss.dtype)


def gml_contrastive_terms(query: Tensor,
                          keys: Tensor,
                          key_labels: Tensor,
                          labels: Tensor,
                          adjust: Callable[[Tensor], Tensor],
                          log_temperature: Tensor,
                          query_ids: Optional[Tensor] = None,
                          key_ids: Optional[Tensor] = None,
                          key_mask: Optional[Tensor] = None
                          ) -> Dict[str, Tensor]:
    """Per-query contrastive terms of GML, ``L_con`` and ``L_con_T``.

    With ``T_j = exp(log_temperature[key_labels[j]])``:

    - ``L_con = CE(adjust(s), y)`` with ``s_c = log mean_{j: l_j = c}
      exp(q.k_j / sg(T_j))``. Trains query and keys, not the temperature.
      The query's own key may take part.
    - ``L_con_T = CE(adjust(s^T), y)`` with ``s^T_c = log mean_{j: l_j =
      c, id_j != id_n} exp(sg(q.k_j) / T_j)``. Trains only the temperature;
      keys of the query's own sample are excluded when ids are given.

    Classes without a usable key are left out of the row's soft-max; a query
    whose own class has no usable key is invalid (loss 0, no gradient).
    Computed in float32 with autocast disabled, whatever the input dtype.
    ``log T`` is clamped to [MIN_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE]
    (1e-4 to 1e4) so that ``q.k / T`` stays finite; the clamp stops the
    gradient only outside that range.

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

    Returns:
        dict[str, Tensor]: ``loss_con`` N, ``loss_temp`` N (float32, 0 where
        invalid), ``valid_con`` N bool, ``valid_temp`` N bool.
    """
    if (query_ids is None) != (key_ids is None):
        raise UserError('Pass both query_ids and key_ids (self-exclusion) '
                        'or neither.')
    if query.shape[-1] != keys.shape[-1]:
        raise UserError(f'query dim {query.shape[-1]} != key dim '
                        f'{keys.shape[-1]}: project both to the same size.')
    num_classes = log_temperature.shape[0]
    with float32_no_autocast(query):
        query = query.float()
        keys = keys.float().to(query.device)
        key_labels = key_labels.to(query.device)
        log_temperature = log_temperature.float().clamp(
            MIN_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE)

        similarity = query @ keys.t()  # N x K
        key_temperature = log_temperature.exp()[key_labels]  # K

        # L_con: trains the embeddings; the temperature is a constant here.
        scores, has_key = class_log_mean_exp(
            similarity / key_temperature.detach(), key_labels, num_classes,
            key_mask)
        loss_con, valid_con = masked_cross_entropy(adjust(scores), labels,
                                                   has_key)

        # L_con_T: trains the temperature only; own-sample keys excluded,
        # since including them drives T_c far too low.
        temp_mask = key_mask
        if query_ids is not None:
            key_ids = key_ids.to(query.device)
            same_sample = (query_ids[:, None] == key_ids[None, :]) & (
                key_ids[None, :] >= 0)  # N x K
            temp_mask = ~same_sample if key_mask is None else (
                key_mask.to(torch.bool) & ~same_sample)
        scores_temp, has_key_temp = class_log_mean_exp(
            similarity.detach() / key_temperature, key_labels, num_classes,
            temp_mask)
        loss_temp, valid_temp = masked_cross_entropy(adjust(scores_temp),
                                                     labels, has_key_temp)
    return dict(
        loss_con=loss_con,
        loss_temp=loss_temp,
        valid_con=valid_con,
        valid_temp=valid_temp)


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
