"""Class prior: class counts -> smoothed probabilities and log prior.

One object serves the loss (logit adjustment), the queue (slot layout),
inference (post-hoc ``- tau * log pi``) and the long-tail metric (groups,
also by the image counts it keeps beside its counts).
"""
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine import dist
from mmengine.logging import print_log
from torch import Tensor

from ..errors import MissingFileError, UserError

#: Folder of the prior files shipped with the package (``mil_seg/priors``).
PACKAGE_PRIOR_DIR = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'priors')

# The pseudo-count added to every class is this fraction of the mean class
# count, times ``smoothing``. Relative (not an absolute +1) so that it means
# the same for pixel counts in the billions and image counts in the tens:
# a class with no sample gets ~0.1% of an average class's mass (log prior
# ~6.9 below the average class), while a class with 5% of the average mass
# (a CIFAR-100-LT tail class) moves by only ~2% (0.02 in log prior).
SMOOTHING_FRACTION = 1e-3
COUNT_TYPES = ('pixel', 'image')
MODES = ('fixed', 'online')
#: How :meth:`ClassPrior.class_weights` scales its weights.
WEIGHT_NORMALIZATIONS = ('classes', 'prior')


class ClassPrior(nn.Module):
    """Class prior pi_c of the training set, smoothed, with a strength tau.

    ``probs = (counts + a) / (sum(counts) + C * a)`` with the pseudo-count
    ``a = smoothing * SMOOTHING_FRACTION * sum(counts) / C`` (0.1% of the
    mean class count for ``smoothing=1``), so no class has zero mass
    whatever the unit of the counts; with no count at all (online mode
    before the first update) the prior is uniform. ``smoothing=0`` gives the
    raw frequencies (the paper's prior); a zero-count class is then floored
    at 1e-12 so that ``log_prior`` stays finite.

    ``counts`` and ``num_updates`` are persistent buffers: a checkpoint
    restores the prior without the training data. ``tau``, ``smoothing`` and
    ``mode`` are plain attributes set by the config, so a test-time
    ``tau`` is not overwritten by the checkpoint.

    ``image_counts`` (a persistent buffer too) holds the number of training
    images that contain each class, when known: the long-tail metric's
    frequent / common / rare groups read it. It never enters the prior
    values (``counts`` do). All zeros means unknown (:attr:`has_image_counts`
    is False): a prior from counts alone, an online prior, or a file
    without them; a checkpoint saved before the buffer existed loads with
    it unknown.

    Args:
        num_classes (int, optional): Number of classes C. Defaults to None
            (the length of ``counts`` or of the file's counts; required
            without them).
        counts (Sequence[float] | Tensor, optional): C class counts (pixels
            or images). Defaults to None.
        image_counts (Sequence[float] | Tensor, optional): C numbers of
            training images containing each class, with ``counts``; a file
            brings its own. Defaults to None (unknown).
        file (str, optional): A prior JSON file (see :meth:`write_file`):
            an existing path, or the name of a file shipped in
            ``mil_seg/priors/`` (``'ade20k'`` or ``'ade20k.json'``).
            Defaults to None.
        count_type (str, optional): Which counts of ``file`` make the
            prior: 'pixel' or 'image' (its ``image_counts``, e.g. Region
            Rebalance's prior of images per class; one file holds both).
            Defaults to None (the file's own ``counts``).
        class_names (Sequence[str], optional): Expected class names, checked
            against the file's. Defaults to None.
        mode (str, optional): 'fixed' (counts from ``counts`` or ``file``,
            required) or 'online' (counts accumulated by :meth:`update`,
            starting from ``counts`` / ``file`` if given, else from zero).
            Defaults to None: 'fixed' when ``counts`` or ``file`` is given,
            else 'online' (an empty prior, uniform until it is estimated,
            filled by :meth:`set_counts` or loaded from a checkpoint).
        smoothing (float): Pseudo-count multiplier, see above. Defaults to
            1.0.
        tau (float): Strength of the log prior, ``log_prior = tau *
            log(probs)``. Defaults to 1.0.
        reduce_across_ranks (bool): In online mode, sum each update's counts
            over all ranks, so every rank holds the same prior. Defaults to
            True.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 counts: Optional[Union[Sequence[float], Tensor]] = None,
                 image_counts: Optional[Union[Sequence[float],
                                              Tensor]] = None,
                 file: Optional[str] = None,
                 count_type: Optional[str] = None,
                 class_names: Optional[Sequence[str]] = None,
                 mode: Optional[str] = None,
                 smoothing: float = 1.0,
                 tau: float = 1.0,
                 reduce_across_ranks: bool = True) -> None:
        super().__init__()
        if mode is None:
            mode = 'online' if counts is None and file is None else 'fixed'
        if mode not in MODES:
            raise UserError(f"mode must be 'fixed' or 'online', got {mode!r}")
        if smoothing < 0:
            raise UserError(f'smoothing must be >= 0, got {smoothing}')
        if counts is not None and file is not None:
            raise UserError('Pass either counts or file to ClassPrior, not '
                            'both.')
        if image_counts is not None and file is not None:
            raise UserError('Pass image_counts to ClassPrior with counts, '
                            'not with file (the file holds its own).')
        if count_type is not None and count_type not in COUNT_TYPES:
            raise UserError(f"count_type must be 'pixel' or 'image' (which "
                            f'counts of the file), got {count_type!r}')
        if count_type is not None and file is None:
            raise UserError('count_type chooses the counts of a prior file: '
                            'pass file, or drop count_type.')
        if mode == 'fixed' and counts is None and file is None:
            raise UserError("ClassPrior(mode='fixed') needs counts or file: "
                            "pass one, or use mode='online'.")
        content, initial, images = None, None, None
        if file is not None:
            path = self.resolve_file(file)
            content = self.read_file(path)
            initial = torch.tensor(content['counts'], dtype=torch.float64)
            if content['image_counts'] is not None:
                images = torch.tensor(
                    content['image_counts'], dtype=torch.float64)
            if count_type not in (None, content['count_type']):
                if count_type != 'image' or images is None:
                    raise UserError(
                        f'Prior file {path} has no {count_type} counts: '
                        'recompute it with tools/analysis/'
                        'compute_class_prior.py (it writes pixel and image '
                        'counts).')
                initial = images.clone()
        elif counts is not None:
            initial = self._validate_counts(counts, 'counts')
        if image_counts is not None:
            images = self._validate_counts(image_counts, 'image_counts')
        if num_classes is None:
            if initial is None:
                raise UserError('ClassPrior needs num_classes without counts '
                                'or file: set num_classes.')
            num_classes = initial.numel()
        if num_classes < 1:
            raise UserError(f'num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.mode = mode
        self.smoothing = smoothing
        self.tau = tau
        self.reduce_across_ranks = reduce_across_ranks
        self.class_names = list(class_names) if class_names else None
        self.count_type: Optional[str] = None
        self.num_samples: Optional[int] = None

        if content is not None:
            self._check_length(initial.numel(), f'file {path}')
            if class_names is not None and content['classes'] is not None:
                self._check_names(content['classes'], class_names, path)
            if self.class_names is None:
                self.class_names = content['classes']
            self.count_type = count_type or content['count_type']
            self.num_samples = content['num_samples']
        elif initial is not None:
            self._check_length(initial.numel(), 'counts')
            if mode == 'fixed' and initial.sum() <= 0:
                raise UserError('counts sum to 0: pass the class counts of '
                                "the training set, or use mode='online'.")
        else:
            initial = torch.zeros(num_classes, dtype=torch.float64)
        if class_names is not None:
            self._check_length(len(class_names), 'class_names')
        if images is None:
            images = torch.zeros(num_classes, dtype=torch.float64)
        self._check_length(images.numel(), 'image_counts')
        self.register_buffer('counts', initial)
        self.register_buffer('num_updates',
                             torch.tensor(0, dtype=torch.long))
        self.register_buffer('image_counts', images)

    # ------------------------------------------------------------------
    # Prior values
    # ------------------------------------------------------------------
    @property
    def tau(self) -> float:
        """float: strength of the log prior (settable)."""
        return self._tau

    @tau.setter
    def tau(self, value: float) -> None:
        value = float(value)
        if not math.isfinite(value):
            raise UserError(f'tau must be finite, got {value}')
        self._tau = value

    @property
    def probs_float64(self) -> Tensor:
        """Tensor: (C,) float64 smoothed class probabilities, sum 1, all
        > 0 (what integer layouts such as the queue's slots are cut from)."""
        counts = self.counts.double()
        total = counts.sum()
        pseudo_count = (self.smoothing * SMOOTHING_FRACTION * total /
                        self.num_classes)
        probs = (counts + pseudo_count) / (total +
                                           self.num_classes * pseudo_count)
        probs = probs.clamp_min(1e-12)
        # A select, not a Python branch: the logit adjustment reads the prior
        # several times a step, and a branch would synchronise with the GPU
        # each time. Without counts (0 / 0 above) the prior is uniform.
        return torch.where(total > 0, probs / probs.sum(),
                           torch.full_like(counts, 1.0 / self.num_classes))

    @property
    def probs(self) -> Tensor:
        """Tensor: (C,) float32 smoothed class probabilities, sum 1, all
        > 0."""
        return self.probs_float64.float()

    @property
    def log_prior(self) -> Tensor:
        """Tensor: (C,) float32 ``tau * log(probs)``."""
        return self.scaled_log_prior(self.tau)

    def scaled_log_prior(self, tau: float) -> Tensor:
        """``tau * log(probs)`` for any strength, float32.

        Args:
            tau (float): The strength.

        Returns:
            Tensor: (C,) float32.
        """
        return (tau * self.probs.double().log()).float()

    def class_weights(self,
                      exponent: float = 1.0,
                      beta: Optional[float] = None,
                      normalize: str = 'classes') -> Tensor:
        """Per-class loss weights from the prior, with mean 1 over the
        classes or under the prior.

        Re-weighting baselines (class-weighted cross-entropy) take their
        weights from here, so they read the same statistics as the logit
        adjustment. ``w_c`` is proportional to ``pi_c ** -exponent``
        (exponent 1: inverse frequency, 0.5: square-root inverse, 0:
        uniform) or, with ``beta``, to the inverse effective number of
        samples ``(1 - beta) / (1 - beta ** n_c)`` of the raw counts (Cui
        et al., "Class-Balanced Loss Based on Effective Number of Samples",
        CVPR 2019; a class without samples counts as one). An empty prior
        gives uniform weights.

        ``normalize`` fixes their scale: ``'classes'`` gives ``mean_c w_c =
        1``; ``'prior'`` gives ``sum_c pi_c w_c = 1``, the expected weight of
        a training sample (pixel) is 1, so a loss that divides the weighted
        sum by the number of samples keeps cross-entropy's scale whatever
        the exponent. The two differ by one factor only, so a loss that
        divides by the summed weights (the weighted mean) is the same with
        either.

        Args:
            exponent (float): Power of the inverse probability. Defaults to
                1.0.
            beta (float, optional): Effective-number hyper-parameter in
                [0, 1); replaces ``exponent``. Defaults to None.
            normalize (str): ``'classes'`` or ``'prior'``, see above.
                Defaults to 'classes'.

        Returns:
            Tensor: (C,) float32 weights.
        """
        if normalize not in WEIGHT_NORMALIZATIONS:
            raise UserError(f'normalize must be one of '
                            f'{WEIGHT_NORMALIZATIONS}, got {normalize!r}')
        if beta is not None:
            if not 0.0 <= beta < 1.0:
                raise UserError(f'beta must be in [0, 1), got {beta}')
            counts = self.counts.double().clamp_min(1.0)
            weights = (1.0 - beta) / (1.0 - torch.pow(beta, counts))
            weights = torch.where(self.counts.sum() > 0, weights,
                                  torch.ones_like(weights))
        else:
            weights = self.probs_float64.pow(-float(exponent))
        if normalize == 'prior':
            return (weights / (self.probs_float64 * weights).sum()).float()
        return (weights / weights.mean()).float()

    def adjust(self, logits: Tensor, tau: Optional[float] = None) -> Tensor:
        """Logit adjustment: ``logits + tau * log pi`` on the class dim 1.

        The one place where the prior enters logits. Training adds the
        prior at its own strength (``tau=None``: logit-adjusted losses, whose
        prediction is then the balanced posterior); post-hoc adjustment at
        inference passes its own strength, e.g. ``-posthoc_tau``. The result
        is float32 (the soft-max that follows loses tail classes in half
        precision) and carries no gradient to the prior.

        Args:
            logits (Tensor): N x C [x H x W] logits (or per-class scores).
            tau (float, optional): Strength of the log prior. Defaults to
                None (the prior's ``tau``).

        Returns:
            Tensor: float32 adjusted logits, the shape of ``logits``.
        """
        if logits.dim() < 2 or logits.shape[1] != self.num_classes:
            raise UserError(
                f'logits of shape {tuple(logits.shape)} for a prior of '
                f'{self.num_classes} classes: give the prior (and the model) '
                "the dataset's number of classes.")
        log_prior = self.log_prior if tau is None else self.scaled_log_prior(
            tau)
        shape = [1] * logits.dim()
        shape[1] = -1
        return logits.float() + log_prior.to(logits.device).view(shape)

    @property
    def has_image_counts(self) -> bool:
        """bool: True when ``image_counts`` (training images per class) is
        known, i.e. not all zero."""
        return bool(self.image_counts.sum() > 0)

    @property
    def is_empty(self) -> bool:
        """bool: True while the prior holds no count (it is then uniform);
        :meth:`set_counts`, :meth:`update` or a checkpoint fill it."""
        return bool(self.counts.sum() <= 0)

    @torch.no_grad()
    def set_counts(self,
                   counts: Union[Sequence[float], Tensor],
                   image_counts: Optional[Union[Sequence[float],
                                                Tensor]] = None) -> None:
        """Replace the counts, e.g. with the training set's (what
        :class:`~mil_seg.engine.ClassCountsHook` hands its consumers).

        Args:
            counts (Sequence[float] | Tensor): C non-negative counts, not
                all 0.
            image_counts (Sequence[float] | Tensor, optional): C numbers of
                training images containing each class. Defaults to None
                (the image counts are left as they are).
        """
        values = self._validate_counts(counts, 'class counts')
        if values.numel() != self.num_classes:
            raise UserError(
                f'{values.numel()} class counts for a prior of '
                f'{self.num_classes} classes: set num_classes to the training '
                "dataset's number of classes.")
        if values.sum() <= 0:
            raise UserError('class counts sum to 0: pass the class counts of '
                            'the training set.')
        if image_counts is not None:
            images = self._validate_counts(image_counts, 'image_counts')
            self._check_length(images.numel(), 'image_counts')
            self.image_counts.copy_(images.to(self.image_counts))
        self.counts.copy_(values.to(self.counts))

    def sorted_classes(self) -> Tensor:
        """Class indices from the most to the least frequent (ties: lower
        index first).

        Returns:
            Tensor: (C,) long.
        """
        return torch.sort(self.counts, descending=True, stable=True)[1]

    # ------------------------------------------------------------------
    # Online counting
    # ------------------------------------------------------------------
    @torch.no_grad()
    def update(self, labels: Tensor, ignore_index: int = -100) -> None:
        """Add the labels of a batch to the counts (online mode only).

        Args:
            labels (Tensor): Any shape of class indices in [0, C) or
                ``ignore_index``: pixel labels count pixels, image labels
                count images. Not checked here: the adapters check a step's
                labels once (``check_labels``).
            ignore_index (int): Label value that is not counted. Defaults to
                -100 (PyTorch's; the segmentation adapter passes its 255).
        """
        if self.mode != 'online':
            raise RuntimeError("ClassPrior.update() needs mode='online'; "
                               "this prior is 'fixed'.")
        labels = labels.reshape(-1).long().to(self.counts.device)
        labels = labels[labels != ignore_index]
        batch_counts = torch.bincount(labels, minlength=self.num_classes)
        if self.reduce_across_ranks and dist.get_world_size() > 1:
            dist.all_reduce(batch_counts, op='sum')
        self.counts += batch_counts.to(self.counts.dtype)
        self.num_updates += 1

    # ------------------------------------------------------------------
    # Files
    # ------------------------------------------------------------------
    @staticmethod
    def resolve_file(file: str) -> str:
        """Return the path of a prior file: ``file`` itself if it exists,
        else a file of that name (``.json`` optional) in ``mil_seg/priors/``.

        Args:
            file (str): A path or a shipped prior's name.

        Returns:
            str: an existing path.
        """
        if osp.isfile(file):
            return file
        if osp.basename(file) == file:
            for name in (file, file + '.json'):
                candidate = osp.join(PACKAGE_PRIOR_DIR, name)
                if osp.isfile(candidate):
                    return candidate
        shipped = []
        if osp.isdir(PACKAGE_PRIOR_DIR):
            shipped = sorted(
                osp.splitext(name)[0] for name in os.listdir(PACKAGE_PRIOR_DIR)
                if name.endswith('.json'))
        raise MissingFileError(
            f'Prior file {file!r} not found (nor in {PACKAGE_PRIOR_DIR}, '
            f'which ships {shipped}): pass an existing path, a shipped name, '
            'or write one with ClassPrior.write_file().')

    @staticmethod
    def read_file(path: str) -> Dict:
        """Read and validate a prior JSON file.

        Format: ``{"classes": [names] | null, "counts": [numbers],
        "count_type": "pixel" | "image", "num_samples": int | null,
        "image_counts": [numbers] | null}``; only ``counts`` is required
        (``count_type`` defaults to 'pixel'). ``image_counts``, the number
        of training images containing each class, is optional (files
        written before it existed have none); with ``count_type`` 'image'
        and no ``image_counts``, the counts are the image counts.

        Args:
            path (str): Path of the file.

        Returns:
            dict: ``classes`` (list[str] | None), ``counts`` (list[float]),
            ``count_type`` (str), ``num_samples`` (int | None),
            ``image_counts`` (list[float] | None: unknown).
        """
        fix = 'regenerate it with ClassPrior.write_file() or the dataset ' \
              'prior tool.'
        if not osp.isfile(path):
            raise MissingFileError(f'Prior file {path} does not exist: pass '
                                   'an existing path.')
        try:
            with open(path, encoding='utf-8') as f:
                content = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise UserError(
                f'Prior file {path} is not valid JSON ({error}): {fix}'
            ) from None
        if not isinstance(content, dict) or 'counts' not in content:
            raise UserError(f'Prior file {path} has no "counts" key: {fix}')
        counts = ClassPrior._file_counts(content, 'counts', path, fix)
        if sum(counts) <= 0:
            raise UserError(f'Prior file {path}: counts sum to 0: {fix}')
        classes = content.get('classes')
        if classes is not None:
            if not isinstance(classes, list) or not all(
                    isinstance(c, str) for c in classes):
                raise UserError(f'Prior file {path}: "classes" must be a '
                                f'list of names: {fix}')
            if len(classes) != len(counts):
                raise UserError(
                    f'Prior file {path} has {len(classes)} classes but '
                    f'{len(counts)} counts: {fix}')
        count_type = content.get('count_type', 'pixel')
        if count_type not in COUNT_TYPES:
            raise UserError(f'Prior file {path}: count_type must be one of '
                            f'{COUNT_TYPES}, got {count_type!r}: {fix}')
        num_samples = content.get('num_samples')
        if num_samples is not None and (not isinstance(num_samples, int)
                                        or isinstance(num_samples, bool)
                                        or num_samples < 0):
            raise UserError(f'Prior file {path}: num_samples must be a '
                            f'non-negative integer: {fix}')
        image_counts = None
        if content.get('image_counts') is not None:
            image_counts = ClassPrior._file_counts(content, 'image_counts',
                                                   path, fix)
            if len(image_counts) != len(counts):
                raise UserError(
                    f'Prior file {path} has {len(image_counts)} image counts '
                    f'but {len(counts)} counts: {fix}')
        elif count_type == 'image':
            image_counts = list(counts)
        return dict(
            classes=classes,
            counts=counts,
            count_type=count_type,
            num_samples=num_samples,
            image_counts=image_counts)

    @staticmethod
    def _file_counts(content: Dict, key: str, path: str,
                     fix: str) -> List[float]:
        """The list of non-negative numbers ``content[key]`` of a file."""
        values = content[key]
        if not isinstance(values, list) or not all(
                isinstance(c, (int, float)) and not isinstance(c, bool)
                for c in values):
            raise UserError(f'Prior file {path}: "{key}" must be a list '
                            f'of numbers: {fix}')
        values = [float(c) for c in values]
        if not all(math.isfinite(c) and c >= 0 for c in values):
            raise UserError(f'Prior file {path}: {key} must be finite and '
                            f'non-negative: {fix}')
        return values

    @staticmethod
    def write_file(path: str,
                   counts: Union[Sequence[float], Tensor],
                   classes: Optional[Sequence[str]] = None,
                   count_type: str = 'pixel',
                   num_samples: Optional[int] = None,
                   image_counts: Optional[Union[Sequence[float],
                                                Tensor]] = None) -> None:
        """Write a prior JSON file (creating its folder).

        Args:
            path (str): Output path.
            counts (Sequence[float] | Tensor): C class counts.
            classes (Sequence[str], optional): C class names. Defaults to
                None (written as null).
            count_type (str): 'pixel' or 'image'. Defaults to 'pixel'.
            num_samples (int, optional): Number of images counted. Defaults
                to None.
            image_counts (Sequence[float] | Tensor, optional): C numbers of
                images containing each class (the frequent / common / rare
                groups of the metric). Defaults to None (written as null).
        """

        def listed(numbers, name):
            values = ClassPrior._validate_counts(numbers, name).tolist()
            # Integral counts are written as integers (exact, readable).
            return [int(v) if float(v).is_integer() else v for v in values]

        values = listed(counts, 'counts')
        images = None
        if image_counts is not None:
            images = listed(image_counts, 'image_counts')
            if len(images) != len(values):
                raise UserError(f'{len(images)} image counts but '
                                f'{len(values)} counts: pass one per class.')
        if classes is not None and len(classes) != len(values):
            raise UserError(f'{len(classes)} classes but {len(values)} '
                            'counts: pass one name per count.')
        if count_type not in COUNT_TYPES:
            raise UserError(f'count_type must be one of {COUNT_TYPES}, got '
                            f'{count_type!r}')
        content = dict(
            classes=list(classes) if classes is not None else None,
            counts=values,
            count_type=count_type,
            num_samples=None if num_samples is None else int(num_samples),
            image_counts=images)
        folder = osp.dirname(osp.abspath(path))
        os.makedirs(folder, exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(content, f, indent=1)
            f.write('\n')

    # ------------------------------------------------------------------
    # Checks
    # ------------------------------------------------------------------
    @staticmethod
    def _validate_counts(counts: Union[Sequence[float], Tensor],
                         name: str) -> Tensor:
        values = torch.as_tensor(counts).detach().to(
            device='cpu', dtype=torch.float64).flatten()
        if not torch.isfinite(values).all() or (values < 0).any():
            raise UserError(f'{name} must be finite and non-negative: pass '
                            'class counts (pixels or images).')
        return values

    def _check_length(self, length: int, source: str) -> None:
        if length != self.num_classes:
            raise UserError(f'{source} has {length} classes but '
                            f'num_classes={self.num_classes}: use the prior '
                            'of this dataset or fix num_classes.')

    def _check_names(self, file_classes: List[str],
                     class_names: Sequence[str], path: str) -> None:
        if len(file_classes) != len(class_names):
            raise UserError(f'Prior file {path} has {len(file_classes)} '
                            f'classes but class_names has '
                            f'{len(class_names)}: use the prior of this '
                            'dataset.')
        differing = [(a, b) for a, b in zip(file_classes, class_names)
                     if a.lower() != b.lower()]
        if differing:
            print_log(
                f'Prior file {path}: class names differ from the dataset\'s '
                f'({len(differing)}, e.g. {differing[0]}); counts are used '
                'in the given order.',
                logger='current',
                level=30)

    def _load_from_state_dict(self, state_dict, prefix, *args,
                              **kwargs) -> None:
        # A checkpoint saved before the image counts existed lacks them:
        # keep this prior's own (unknown unless a file gave them).
        key = prefix + 'image_counts'
        if key not in state_dict:
            state_dict[key] = self.image_counts.clone()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, mode={self.mode!r}, '
                f'smoothing={self.smoothing}, tau={self.tau}')


#: What a config may hold for a prior (see :func:`build_class_prior`).
PriorConfig = Union[None, str, dict, Sequence[float], Tensor, ClassPrior]


def build_class_prior(prior: PriorConfig,
                      num_classes: Optional[int] = None) -> ClassPrior:
    """Build the :class:`ClassPrior` a config describes: the one builder that
    every consumer (heads, losses, queue, metrics, hooks, tools) calls.

    Accepted: a built ``ClassPrior`` (returned as it is); a shipped prior's
    name or a file path (``'camvid'``, ``'data/my_prior.json'``); a dict of
    ``ClassPrior`` arguments (``type`` optional, ``num_classes`` filled
    in); C class counts; None, an empty prior (uniform until estimated
    online, filled with the training set's counts by a hook, or loaded from
    a checkpoint).

    Args:
        prior (str | dict | Sequence[float] | Tensor | ClassPrior, optional):
            The config.
        num_classes (int, optional): The model's number of classes; checked
            against the prior's. Defaults to None (the prior's own: the
            length of its counts or file; required for None).

    Returns:
        ClassPrior: The prior.
    """
    if isinstance(prior, ClassPrior):
        built = prior
    else:
        if isinstance(prior, dict):
            cfg = dict(prior)
            prior_type = cfg.pop('type', 'ClassPrior')
            if prior_type not in ('ClassPrior', ClassPrior):
                raise UserError(f'prior type {prior_type!r} is not a '
                                "ClassPrior: use type='ClassPrior'.")
        elif prior is None:
            cfg = dict()
        elif isinstance(prior, str):
            cfg = dict(file=prior)
        elif isinstance(prior, (Sequence, Tensor)):
            cfg = dict(counts=prior)
        else:
            raise UserError(
                f'a prior of type {type(prior).__name__}: give a shipped '
                'name, a file path, a ClassPrior dict, counts or None.')
        if num_classes is not None:
            cfg.setdefault('num_classes', num_classes)
        built = ClassPrior(**cfg)
    if num_classes is not None and built.num_classes != num_classes:
        raise UserError(
            f'the prior has {built.num_classes} classes, the model '
            f'{num_classes}: use the prior of this dataset or fix '
            'num_classes.')
    return built
