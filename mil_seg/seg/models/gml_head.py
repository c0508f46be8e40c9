"""GML decode head: adds the GML loss to any MMSegmentation decode head."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmseg.models.decode_heads.cascade_decode_head import \
    BaseCascadeDecodeHead
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS, TASK_UTILS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mil_seg.gml.loss import GMLLoss
from mil_seg.gml.queue import ClassBalancedQueue
from .anchor_sampler import image_class_groups
from .cosine_classifier import CosineClassifier2d

# Sample ids of anchor pixels: ``image_id * PIXELS_PER_IMAGE + pixel`` with
# ``image_id = (step * world_size + rank) * IMAGES_PER_RANK_STEP + index in
# batch``. Unique across pixels, images, ranks and steps as long as a feature
# map has fewer than 2**22 pixels (2048 x 2048), a rank sees fewer than 1024
# images per step and step * world_size < 2**31.
PIXELS_PER_IMAGE = 2**22
IMAGES_PER_RANK_STEP = 1024


@MODELS.register_module()
class GMLHead(BaseDecodeHead):
    """Wraps any mmseg decode head and trains it with the GML loss.

    The wrapped ``decoder`` computes its pixel features as usual, but its own
    1x1 classifier is removed (its ``conv_seg`` becomes ``nn.Identity`` and
    its dropout is disabled, so its ``forward`` returns the features that fed
    ``cls_seg``). This works for every head that ends in
    ``self.cls_seg(features)``, which is the mmseg 1.x convention (ASPP,
    DepthwiseSeparableASPP, UPer, Segformer, FCN, PSP, OCR, ...). Its
    ``loss_decode`` and ``sampler`` are not used. On the features (shape
    ``B x F x h x w`` with ``F = decoder.channels``) this head adds:

    - a cosine 1x1 classifier (``conv_seg``, :class:`CosineClassifier2d`)
      with fixed scale ``1 / T_s = classifier_scale`` (or mmseg's plain
      linear ``conv_seg`` with ``classifier='linear'``), after the decoder's
      dropout ratio. Its logits are the head's output at inference.
    - ``L_sup``: cross-entropy on ``logits + tau * log pi`` at label
      resolution (logit adjustment), with the prior ``pi`` of ``prior``.
    - ``L_con`` + ``L_con_T``: per image, at most ``max_anchors_per_image``
      anchor pixels are drawn at feature resolution, class-balanced, from the
      labels downsampled by nearest neighbour (ignored pixels are never
      drawn; see :class:`ClassBalancedAnchorSampler`). Their detached
      features are pushed into a :class:`ClassBalancedQueue` of
      ``queue_size`` slots (gathered across ranks, before the loss). A
      two-layer MLP projector (``Linear-ReLU-Linear``, the same as 1x1 convs
      but applied only to the anchors and the queue, never to the whole map)
      maps anchors (queries) and the whole queue (keys) to ``embed_dim`` and
      both are L2-normalised; the queue stores pre-projection features, so
      keys never go stale with respect to the projector. Sample ids encode
      (image, pixel) uniquely across steps and ranks for the self-exclusion
      of ``L_con_T``.

    Two stages: with ``key_in_channels`` set, the queue holds a frozen
    teacher's pixel features instead of the head's own (given to
    :meth:`loss` as ``teacher_features`` by :class:`GMLEncoderDecoder`, at
    the same anchor pixels; resized bilinearly to the head's feature size
    when the teacher's stride differs) and a separate, trainable key
    projector (``key_in_channels -> hidden -> embed_dim``) embeds them; the
    queries keep the head's projector. With ``loss_gml.kd_weight > 0`` the
    teacher's prior-free logits are distilled pixel-wise (non-ignored
    pixels, at label resolution).

    At inference the prior is dropped (the balanced posterior). With
    ``posthoc_tau`` set, the output is ``logits - posthoc_tau * log pi``
    (``log pi`` without the prior's own tau) to trade head for tail classes.

    With an ``'online'`` prior, the pixel counts are updated from every
    training batch (its full-resolution labels) before the loss; the queue
    slots are allocated from the estimate after the first training batch
    and kept afterwards (a buffer records it, so resuming does not
    re-allocate). A ``'fixed'`` prior allocates the slots at construction.

    Cost (defaults): with B images per GPU, N = 256 * B anchors, K = 16384
    slots, F feature channels, D = 128: the similarity is N x K x D
    multiply-adds (2.1 G for B = 4), projecting the queue K x (F * H_p + H_p
    * D) with hidden size ``H_p = F`` (5.4 G for F = 512), a few N x K
    float32 buffers in the class-wise log-mean-exp (~0.5 GB for B = 4), and
    ``K x F`` floats for the queue (32 MB). DeepLabV3+ R-50 at 512 x 512
    costs ~180 GMAC per image, so the extra compute is ~1 % of a step.
    Anchor sampling is vectorised over the batch and the queue is projected
    whole, so the head adds no per-image host synchronisation. Measured on
    one H200 (fp32, 512 x 512, synthetic long-tailed labels, 20 steps): step
    time x0.98-1.25 and peak memory x1.05-1.20 over the plain head for
    DeepLabV3+ R-50 (batch 4), UperNet Swin-T and SegFormer-B0 (batch 2);
    the GPU kernel time of UperNet Swin-T grew by 5 %, the rest is Python
    and kernel-launch time, which matters only when a step is launch-bound.

    Auxiliary heads are separate modules in ``EncoderDecoder`` and keep their
    own losses. For ``CascadeEncoderDecoder`` (e.g. OCRNet), wrap the last
    head with :class:`GMLCascadeHead`.

    Args:
        decoder (dict): Config of the wrapped mmseg decode head (its
            ``num_classes``, ``channels``, ``in_channels``, ``in_index``,
            ``input_transform``, ``dropout_ratio``, ``align_corners`` and
            ``ignore_index`` are taken over by this head).
        prior (dict): Config of a ``ClassPrior``, e.g.
            ``dict(type='ClassPrior', file='ade20k')``; ``num_classes`` is
            filled in from the decoder when missing. Its ``tau`` (default
            1) scales ``log pi`` in both terms and is worth tuning with
            ``classifier_scale``: the CamVid configs use 0.75, best for
            GML on a split held out from train, where LA-CE was best at 1.
        classifier (str): ``'cosine'`` (the method's classifier) or
            ``'linear'`` (mmseg's own 1x1 ``conv_seg``, with bias: then
            ``L_sup`` is exactly logit-adjusted CE and the contrastive
            term is the only change from an LA-CE baseline; an mmseg
            checkpoint's ``conv_seg`` also loads into it). Defaults to
            'cosine'.
        classifier_scale (float): ``1 / T_s`` of the cosine classifier
            (unused by the linear one).
            Defaults to 30.0, the paper's value: logits span 60 nats, enough
            for the spread of a long-tailed log prior (about 9 nats on
            ADE20K) plus a confident margin, while the cosine bound keeps
            the pixel logits from growing with training. It is worth
            tuning per dataset on held-out data: the CamVid configs use 10,
            which beat 30 by 1.1 mIoU and 0.7 tail mIoU on a split held out
            from CamVid's train set after 800 iterations (at 3200 they are
            within 0.4 of each other).
        embed_dim (int): Size D of the contrastive embedding.
            Defaults to 128.
        projector_hidden_channels (int, optional): Hidden size of the
            projector MLP. Defaults to None (the feature channels F).
        queue_size (int): Number of pixel features K in the queue.
            Defaults to 16384.
        queue_base_size (int): Minimum slots per class. Defaults to 2.
        max_queue_writes_per_class (int, optional): Cap on the features of
            one class written per step (after gathering across ranks).
            Defaults to None (the class's ring size).
        anchor_sampler (dict): Config of the anchor sampler (``TASK_UTILS``,
            with a ``sample_batch`` method).
            Defaults to ``dict(type='ClassBalancedAnchorSampler',
            max_anchors_per_image=256)``; its ``ignore_index`` is set to the
            head's.
        loss_gml (dict): Keyword arguments of :class:`mil_seg.gml.GMLLoss`
            (``sup_weight``, ``con_weight``, ``init_temperature``,
            ``learn_temperature``; ``num_classes`` is filled in). Defaults to
            ``dict(sup_weight=1.0, con_weight=1.0, init_temperature=0.1)``.
            ``con_weight=0`` reduces the head to logit-adjusted cosine CE
            (no queue work at all).
        avg_non_ignore (bool): Average ``L_sup`` over non-ignored pixels
            only. Defaults to True.
        posthoc_tau (float, optional): Strength of the post-hoc adjustment at
            inference: positive favours the tail further, negative moves
            back toward the training prior (-1 undoes the logit
            adjustment). IoU punishes the rare-class false positives of the
            balanced posterior: on CamVid (tiny FCN, 800 iterations, two
            seeds) -0.5, the strength chosen on the train split, moved val
            mIoU from 47.4 / 48.5 to 50.2 / 49.9 and tail mIoU from 27.4 /
            27.2 to 27.8 / 26.0. Choose it on held-out data with
            ``tools/analysis/posthoc_tau_sweep.py``. Defaults to None (no
            prior at inference).
        self_exclusion (str): What ``L_con_T`` excludes for a query: keys of
            the same ``'pixel'`` (the method's (image id, pixel id)) or of
            the same ``'image'`` (stricter; neighbouring pixels are nearly
            duplicates). Defaults to 'pixel'.
        key_in_channels (int, optional): Channels of a frozen teacher's
            pixel features when they fill the queue (two stages); the
            teacher comes from :class:`GMLEncoderDecoder`. Defaults to None
            (single stage: the head's own detached features).
        exclude_own_image_keys (bool): Mask, for every anchor, the queue
            keys of its own image in ``L_con`` and ``L_con_T`` (an N x K key
            mask). The queue is written before the loss, so without it an
            anchor meets its own detached feature (similarity 1, no second
            view as in classification) and its image's near-duplicate
            pixels; for classes with few slots these dominate the positive
            term and leave no contrastive signal. Keys of the batch's other
            images stay. Defaults to True.
        queue_keys (str): What a training step writes into the queue:
            ``'pixel'``, the key features at the anchor pixels, or
            ``'region'``, one key per (image, class present at feature
            resolution), the mean key feature over that class's pixels
            in the image (pixel-to-region contrast). A ring of a fixed
            size then spans many more images: a tail class seen in one or
            two images per batch keeps keys from tens of earlier images
            instead of the anchors of the last two or three batches.
            Queries stay pixel anchors. Defaults to 'pixel'.
        init_cfg (dict | list[dict], optional): Initialisation config.
            Defaults to a ``Normal(std=0.01)`` init of ``conv_seg``.
    """

    def __init__(self,
                 decoder: ConfigType,
                 prior: ConfigType,
                 classifier: str = 'cosine',
                 classifier_scale: float = 30.0,
                 embed_dim: int = 128,
                 projector_hidden_channels: Optional[int] = None,
                 queue_size: int = 16384,
                 queue_base_size: int = 2,
                 max_queue_writes_per_class: Optional[int] = None,
                 anchor_sampler: ConfigType = dict(
                     type='ClassBalancedAnchorSampler',
                     max_anchors_per_image=256),
                 loss_gml: ConfigType = dict(
                     sup_weight=1.0, con_weight=1.0, init_temperature=0.1),
                 avg_non_ignore: bool = True,
                 posthoc_tau: Optional[float] = None,
                 self_exclusion: str = 'pixel',
                 exclude_own_image_keys: bool = True,
                 queue_keys: str = 'pixel',
                 key_in_channels: Optional[int] = None,
                 init_cfg: OptConfigType = dict(
                     type='Normal', std=0.01,
                     override=dict(name='conv_seg'))) -> None:
        decoder = MODELS.build(decoder)
        if not isinstance(decoder, BaseDecodeHead):
            raise TypeError('decoder must build a BaseDecodeHead, got '
                            f'{type(decoder).__name__}')
        self._check_cascade(decoder)
        if decoder.out_channels != decoder.num_classes:
            raise ValueError('GMLHead needs one logit per class; binary '
                             'heads with out_channels=1 are not supported.')
        if classifier not in ('cosine', 'linear'):
            raise ValueError("classifier must be 'cosine' or 'linear', got "
                             f'{classifier!r}')
        if queue_keys not in ('pixel', 'region'):
            raise ValueError("queue_keys must be 'pixel' or 'region', got "
                             f'{queue_keys!r}')
        if self_exclusion not in ('pixel', 'image'):
            raise ValueError("self_exclusion must be 'pixel' or 'image', "
                             f'got {self_exclusion!r}')
        in_channels, in_index = decoder.in_channels, decoder.in_index
        if decoder.input_transform == 'resize_concat':
            # _init_inputs sums them again: hand over one entry per input.
            in_channels = [in_channels] + [0] * (len(in_index) - 1)
        super().__init__(
            in_channels,
            decoder.channels,
            num_classes=decoder.num_classes,
            dropout_ratio=decoder.dropout_ratio,
            in_index=in_index,
            input_transform=decoder.input_transform,
            loss_decode=[],
            ignore_index=decoder.ignore_index,
            align_corners=decoder.align_corners,
            init_cfg=init_cfg)
        # The decoder's forward now returns the features that fed cls_seg.
        # Its own loss_decode is replaced by loss_gml (dropped: no stray
        # settings in the model's repr).
        decoder.conv_seg = nn.Identity()
        decoder.dropout = None
        decoder.loss_decode = nn.ModuleList()
        self.decoder = decoder
        if classifier == 'cosine':
            self.conv_seg = CosineClassifier2d(
                self.channels, self.num_classes, scale=classifier_scale)
        # else: BaseDecodeHead's linear conv_seg stays.

        prior = copy.deepcopy(prior)
        if isinstance(prior, dict):
            prior.setdefault('num_classes', self.num_classes)
            prior = MODELS.build(prior)
        if prior.probs.numel() != self.num_classes:
            raise ValueError(f'the prior has {prior.probs.numel()} classes, '
                             f'the decoder {self.num_classes}')
        self.prior = prior
        self.posthoc_tau = posthoc_tau
        self.avg_non_ignore = avg_non_ignore
        self.self_exclusion = self_exclusion
        self.exclude_own_image_keys = exclude_own_image_keys
        self.queue_keys = queue_keys

        loss_gml = dict(loss_gml)
        loss_gml.pop('type', None)
        loss_gml.setdefault('num_classes', self.num_classes)
        self.loss_gml = GMLLoss(**loss_gml)
        self.with_contrastive = self.loss_gml.con_weight > 0

        self.key_in_channels = key_in_channels
        self.key_projector = None
        if self.with_contrastive:
            hidden = projector_hidden_channels or self.channels
            self.projector = nn.Sequential(
                nn.Linear(self.channels, hidden), nn.ReLU(inplace=True),
                nn.Linear(hidden, embed_dim))
            if key_in_channels is not None:
                self.key_projector = nn.Sequential(
                    nn.Linear(key_in_channels, hidden),
                    nn.ReLU(inplace=True), nn.Linear(hidden, embed_dim))
            sampler_cfg = dict(anchor_sampler)
            sampler_cfg['ignore_index'] = self.ignore_index
            self.anchor_sampler = TASK_UTILS.build(sampler_cfg)
            online = self._prior_is_online()
            self.queue = self._build_queue(queue_size, queue_base_size,
                                           max_queue_writes_per_class,
                                           None if online else self.prior)
            self.register_buffer('queue_allocated',
                                 torch.tensor(not online))
        else:
            self.projector = None
            self.anchor_sampler = None
            self.queue = None
        self.register_buffer('num_train_steps',
                             torch.zeros((), dtype=torch.long))

    def _load_from_state_dict(self, state_dict: dict, prefix: str,
                              local_metadata: dict, strict: bool,
                              missing_keys: List[str],
                              unexpected_keys: List[str],
                              error_msgs: List[str]) -> None:
        """Also load checkpoints of the plain mmseg head (fine-tuning or
        ``load_from`` a model trained without GML).

        There, the decoder's weights sit directly under the head's prefix;
        they move under ``decoder.``. ``conv_seg.weight`` loads into the
        classifier (the linear one takes ``conv_seg.bias`` too; the cosine
        one keeps the weight's direction and leaves the bias unexpected).
        Checkpoints of a GML head load as they are.
        """
        decoder_prefix = prefix + 'decoder.'
        if not any(key.startswith(decoder_prefix) for key in state_dict):
            moved = [
                name for name in self.decoder.state_dict()
                if prefix + name in state_dict
            ]
            for name in moved:
                state_dict[decoder_prefix + name] = state_dict.pop(prefix +
                                                                   name)
            if moved:
                print_log(
                    f'{len(moved)} tensors of a plain mmseg decode head '
                    f'loaded into {decoder_prefix.rstrip(".")}',
                    logger='current')
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def _check_cascade(self, decoder: BaseDecodeHead) -> None:
        """Refuse cascade decoders; :class:`GMLCascadeHead` takes them."""
        if isinstance(decoder, BaseCascadeDecodeHead):
            raise TypeError(
                f'{type(decoder).__name__} needs the previous stage\'s '
                'output: wrap it with GMLCascadeHead.')

    def _build_queue(self, size: int, base_size: int,
                     max_writes_per_class: Optional[int],
                     class_prior: Optional[nn.Module]) -> nn.Module:
        """Build the pixel queue of pre-projection features."""
        return ClassBalancedQueue(
            self.num_classes,
            size,
            self.key_in_channels or self.channels,
            base_size=base_size,
            class_prior=class_prior,
            max_writes_per_class=max_writes_per_class)

    def _prior_is_online(self) -> bool:
        return getattr(self.prior, 'mode', 'fixed') == 'online'

    def _decode_features(self,
                         inputs: List[Tensor],
                         prev_output: Optional[Tensor] = None) -> Tensor:
        """Pixel features of the wrapped decoder, B x F x h x w."""
        if prev_output is None:
            return self.decoder(inputs)
        return self.decoder(inputs, prev_output)

    def _adjust_for_inference(self, seg_logits: Tensor) -> Tensor:
        """Apply the optional post-hoc prior adjustment (eval mode only)."""
        if self.training or not self.posthoc_tau:
            return seg_logits
        log_probs = self.prior.probs.to(seg_logits).log()
        return seg_logits - self.posthoc_tau * log_probs.view(1, -1, 1, 1)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Prior-free logits (post-hoc adjusted in eval mode if set).

        Args:
            inputs (list[Tensor]): Multi-level backbone features.

        Returns:
            Tensor: Logits, B x C x h x w.
        """
        features = self._decode_features(inputs)
        return self._adjust_for_inference(self.cls_seg(features))

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             teacher_features: Optional[Tensor] = None,
             teacher_logits: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the GML losses of a training batch.

        Args:
            inputs (tuple[Tensor]): Multi-level backbone features.
            batch_data_samples (list[SegDataSample]): Data samples with
                ``gt_sem_seg``.
            train_cfg (dict): The training config (unused).
            teacher_features (Tensor, optional): A frozen teacher's pixel
                features, B x key_in_channels x h' x w' (two stages).
                Defaults to None.
            teacher_logits (Tensor, optional): The teacher's prior-free
                logits, B x C x h' x w', for distillation. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_sup``, ``loss_con``, ``loss_con_temp``
            (when the contrastive term is on), ``loss_kd`` (with teacher
            logits and ``kd_weight > 0``) and ``acc_seg``.
        """
        features = self._decode_features(inputs)
        return self.loss_by_feat(
            self.cls_seg(features),
            batch_data_samples,
            features=features,
            teacher_features=teacher_features,
            teacher_logits=teacher_logits)

    def loss_by_feat(
            self,
            seg_logits: Tensor,
            batch_data_samples: SampleList,
            features: Optional[Tensor] = None,
            teacher_features: Optional[Tensor] = None,
            teacher_logits: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the losses from the head's logits and features.

        Args:
            seg_logits (Tensor): Cosine logits, B x C x h x w.
            batch_data_samples (list[SegDataSample]): Data samples with
                ``gt_sem_seg``.
            features (Tensor, optional): The decoder's pixel features,
                B x F x h x w; without them only ``L_sup`` is computed.
                Defaults to None.
            teacher_features (Tensor, optional): See :meth:`loss`.
                Defaults to None.
            teacher_logits (Tensor, optional): See :meth:`loss`.
                Defaults to None.

        Returns:
            dict[str, Tensor]: Loss terms and ``acc_seg``.
        """
        seg_label = self._stack_batch_gt(batch_data_samples)  # B x 1 x H x W
        if self.training:
            self._update_prior(seg_label)
        log_prior = self.prior.log_prior.to(seg_logits.device)

        contrastive = dict()
        if self.with_contrastive and features is not None:
            contrastive = self._contrastive_inputs(features, seg_label,
                                                   teacher_features)

        seg_logits = resize(
            input=seg_logits,
            size=seg_label.shape[2:],
            mode='bilinear',
            align_corners=self.align_corners)
        if teacher_logits is not None:
            contrastive['teacher_logits'] = resize(
                input=teacher_logits.detach(),
                size=seg_label.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        elif self.training and self.loss_gml.kd_weight > 0:
            raise ValueError(
                'loss_gml.kd_weight > 0 distils a teacher: use '
                "model.type='GMLEncoderDecoder' (a cascade: "
                "'GMLCascadeEncoderDecoder') with "
                'model.teacher=dict(..., checkpoint=...), or set '
                'model.decode_head.loss_gml.kd_weight=0.')
        seg_label = seg_label.squeeze(1)
        losses = self.loss_gml(
            seg_logits,
            seg_label,
            log_prior,
            ignore_index=self.ignore_index,
            avg_non_ignore=self.avg_non_ignore,
            **contrastive)
        losses['acc_seg'] = accuracy(
            seg_logits, seg_label, ignore_index=self.ignore_index)
        if self.training:
            self.num_train_steps += 1
        return losses

    @torch.no_grad()
    def _update_prior(self, seg_label: Tensor) -> None:
        """Online prior: count the batch's pixels; allocate the queue once."""
        if not self._prior_is_online():
            return
        self.prior.update(seg_label, ignore_index=self.ignore_index)
        if self.queue is not None and not bool(self.queue_allocated):
            self.queue.allocate(self.prior)
            self.queue_allocated.fill_(True)

    def _image_ids(self, image_index: Tensor) -> Tensor:
        """Image ids unique over (step, rank, image in batch)."""
        rank, world_size = get_dist_info()
        return (self.num_train_steps * world_size +
                rank) * IMAGES_PER_RANK_STEP + image_index

    def _sample_ids(self, image_index: Tensor, pixel_index: Tensor) -> Tensor:
        """Ids unique over (step, rank, image, pixel) for self-exclusion."""
        image_id = self._image_ids(image_index)
        if self.self_exclusion == 'image':
            return image_id
        return image_id * PIXELS_PER_IMAGE + pixel_index

    def _key_image_ids(self, key_ids: Tensor) -> Tensor:
        """Image ids of queue keys from their sample ids (-1: empty)."""
        if self.self_exclusion == 'image':
            return key_ids
        return torch.div(key_ids, PIXELS_PER_IMAGE, rounding_mode='floor')

    def _key_source(self, features: Tensor,
                    teacher_features: Optional[Tensor]) -> Tensor:
        """The features whose anchors fill the queue (checked)."""
        if self.key_projector is None:
            if teacher_features is not None:
                raise ValueError(
                    'teacher features were given but the head has no key '
                    'projector for them: set model.decode_head.'
                    f'key_in_channels={teacher_features.shape[1]}.')
            return features.detach()
        if teacher_features is None:
            raise ValueError(
                f'model.decode_head.key_in_channels={self.key_in_channels} '
                "fills the queue with a teacher's features, but none came: "
                "use model.type='GMLEncoderDecoder' (a cascade: "
                "'GMLCascadeEncoderDecoder') with "
                'model.teacher=dict(..., checkpoint=...), or remove '
                'key_in_channels (single stage).')
        if teacher_features.shape[1] != self.key_in_channels:
            raise ValueError(
                f"the teacher's pixel features have "
                f'{teacher_features.shape[1]} channels, '
                f'model.decode_head.key_in_channels={self.key_in_channels}: '
                'set it to the teacher decoder\'s channels.')
        teacher_features = teacher_features.detach()
        if teacher_features.shape[2:] != features.shape[2:]:
            teacher_features = resize(
                teacher_features,
                size=features.shape[2:],
                mode='bilinear',
                align_corners=self.align_corners)
        return teacher_features

    def _region_keys(self, key_source: Tensor,
                     small_label: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One key per (image, class present): its mean feature.

        Args:
            key_source (Tensor): B x F x h x w detached features.
            small_label (Tensor): B x h x w labels at feature resolution.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Keys (M x F), their labels (M)
            and sample ids (M), in (image, class) order.
        """
        batch_size, channels = key_source.shape[:2]
        num_groups = batch_size * self.num_classes
        # Ignored pixels land in one extra row, dropped with the counts.
        group = image_class_groups(small_label, self.num_classes,
                                   self.ignore_index)
        sums = key_source.new_zeros(num_groups + 1, channels)
        sums.index_add_(0, group,
                        key_source.flatten(2).transpose(1, 2).reshape(
                            -1, channels))
        counts = torch.bincount(group, minlength=num_groups + 1)[:num_groups]
        present = counts.nonzero().squeeze(1)
        region_features = sums[present] / counts[present, None].to(sums)
        region_labels = present % self.num_classes
        region_images = torch.div(
            present, self.num_classes, rounding_mode='floor')
        # Past every pixel index of the map, so a region key never takes a
        # pixel's id (the self-exclusion of L_con_T).
        region_ids = self._sample_ids(
            region_images, PIXELS_PER_IMAGE - 1 - region_labels)
        return region_features, region_labels, region_ids

    def _contrastive_inputs(
            self,
            features: Tensor,
            seg_label: Tensor,
            teacher_features: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Sample anchors, update the queue and embed queries and keys.

        Args:
            features (Tensor): B x F x h x w decoder features.
            seg_label (Tensor): B x 1 x H x W labels.
            teacher_features (Tensor, optional): A frozen teacher's
                features (two stages), pushed into the queue instead of
                ``features``. Defaults to None.

        Returns:
            dict[str, Tensor]: Keyword arguments of the contrastive part of
            :class:`GMLLoss` (query, keys, their labels, ids and key mask).
        """
        batch_size, _, height, width = features.shape
        if batch_size > IMAGES_PER_RANK_STEP or (height * width >
                                                  PIXELS_PER_IMAGE):
            raise ValueError('batch or feature map too large for unique '
                             'anchor ids')
        # Labels at feature resolution (nearest: no invented classes).
        small_label = F.interpolate(
            seg_label.float(), size=(height, width),
            mode='nearest').long().squeeze(1)  # B x h x w
        image_index, pixel_index, anchor_labels = \
            self.anchor_sampler.sample_batch(small_label, self.num_classes)
        # N x F
        anchor_features = features.flatten(2)[image_index, :, pixel_index]
        key_source = self._key_source(features, teacher_features)
        anchor_ids = self._sample_ids(image_index, pixel_index)  # N
        if self.queue_keys == 'pixel':
            new_keys = key_source.flatten(2)[image_index, :, pixel_index]
            new_labels, new_ids = anchor_labels, anchor_ids
        else:
            new_keys, new_labels, new_ids = self._region_keys(
                key_source, small_label)

        # Written before the loss, gathered across ranks (every rank calls
        # push, even with no anchors, so the collective never hangs).
        self.queue.push(new_keys, new_labels, new_ids)
        queue_features, key_labels, key_ids, key_valid = self.queue.get()
        if self.exclude_own_image_keys:
            # N x K: a query never meets keys of its own image, in L_con as
            # in L_con_T. Its own key is its exact (detached) copy and its
            # neighbours near-copies: with them in L_con, the positive term
            # of a class with few slots (the tail, whose rings hold little
            # more than the current batch) is saturated by the self match.
            key_valid = key_valid[None, :] & (
                self._key_image_ids(key_ids)[None, :] !=
                self._image_ids(image_index)[:, None])
        # The whole queue is projected (empty slots are masked in the loss):
        # fixed shapes, no host synchronisation, keys never stale.
        query = F.normalize(self.projector(anchor_features), dim=1)  # N x D
        key_projector = self.key_projector or self.projector
        keys = F.normalize(
            key_projector(queue_features.to(anchor_features.dtype)),
            dim=1)  # K x D
        return dict(
            query=query,
            keys=keys,
            key_labels=key_labels,
            query_labels=anchor_labels,
            query_ids=anchor_ids,
            key_ids=key_ids,
            key_mask=key_valid)
