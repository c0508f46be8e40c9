"""GML image classifier: query encoder plus momentum or frozen-teacher keys."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import ExponentialMovingAverage
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from mil_seg.gml.teacher import (load_frozen_teacher, load_teacher_or_defer,
                                 require_loaded_teacher)
from mil_seg.errors import UserError


class _KeyEncoder(nn.Module):
    """Backbone, neck and projector seen as one module, so that one
    ``ExponentialMovingAverage`` follows all three. ``forward`` returns the
    features BEFORE the projector (what the queue stores)."""

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module],
                 projector: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.projector = projector

    def forward(self, inputs: Tensor) -> Tensor:
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        return feats[-1]


def _split(feats: Tuple[Tensor], sizes: Sequence[int]) -> List[Tuple[Tensor]]:
    """Split every tensor of a feature tuple along the batch."""
    parts = [torch.split(f, list(sizes)) for f in feats]
    return [tuple(p[i] for p in parts) for i in range(len(sizes))]


@MODELS.register_module()
class GMLClassifier(ImageClassifier):
    """Image classifier trained with GML (Suh & Seo, ICML 2023).

    Each training image comes as a list of views from the data pipeline
    (mmpretrain's ``MultiView`` transform; the data preprocessor defaults to
    :class:`MultiViewClsDataPreprocessor`): ``[classification, query, key]``
    or ``[query, key]`` (the query view then also feeds the classifier).
    The classification and query views go through the backbone together;
    the key view goes through the key encoder, whose features (before the
    key projection) are pushed into the head's class-balanced queue before
    the loss; the key projector then embeds the whole queue.

    The key encoder is either

    - a momentum copy (mmengine ``ExponentialMovingAverage``) of backbone,
      neck and the head's projector (single stage, ``teacher=None``). Note:
      mmengine's ``momentum`` is the weight of the NEW parameters, so
      ``momentum=0.001`` is MoCo's ``m = 0.999``; or
    - a frozen teacher (stage 2): a classifier built from ``teacher`` and
      loaded from ``teacher['checkpoint']`` (a stage-1 checkpoint) when the
      weights are initialised; keys/shapes that do not match the teacher's
      config raise a ``UserError``. The head then needs
      ``key_in_channels`` (the teacher's feature size, which builds its
      trainable key projector); with ``loss_gml.kd_weight > 0`` the
      teacher's logits of the classification view are distilled.

    Prediction (``head.predict``) returns the balanced posterior.

    Args:
        backbone (dict): Backbone config.
        neck (dict, optional): Neck config. Defaults to None.
        head (dict, optional): Head config, normally ``GMLClsHead``.
            Defaults to None.
        momentum (float): Weight of the new parameters in the momentum
            update (``1 - m`` of MoCo). Defaults to 0.001.
        teacher (dict, optional): Teacher classifier config (``type``
            defaults to ``'ImageClassifier'``) with a ``checkpoint`` key.
            Defaults to None (momentum key encoder).
        pretrained (str, optional): Checkpoint of the student. Defaults to
            None.
        train_cfg (dict, optional): As in ``ImageClassifier``. Defaults to
            None.
        data_preprocessor (dict, optional): Defaults to None
            (``MultiViewClsDataPreprocessor``).
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 momentum: float = 0.001,
                 teacher: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None or isinstance(data_preprocessor, dict):
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault('type',
                                         'MultiViewClsDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            pretrained=pretrained,
            train_cfg=train_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.momentum = momentum
        with_contrastive = getattr(self.head, 'with_contrastive', False)
        key_channels = getattr(self.head, 'key_in_channels', None)
        kd_weight = getattr(
            getattr(self.head, 'loss_gml', None), 'kd_weight', 0.0)

        self.teacher = None
        self.key_encoder = None
        self.teacher_checkpoint = None
        if teacher is not None:
            teacher = dict(teacher)
            self.teacher_checkpoint = teacher.pop('checkpoint', None)
            teacher.setdefault('type', 'ImageClassifier')
            if with_contrastive and key_channels is None:
                raise UserError(
                    "With a teacher the keys are the teacher's features: set "
                    "head.key_in_channels to the teacher's feature size.")
            self.teacher = MODELS.build(teacher)
            self.teacher.requires_grad_(False)
            self.teacher.eval()
            self.register_buffer('teacher_loaded', torch.tensor(False))
            teacher_channels = getattr(self.teacher.head, 'in_channels',
                                       None)
            if with_contrastive and isinstance(teacher_channels, int) and \
                    key_channels != teacher_channels:
                raise UserError(
                    f"The teacher's features have {teacher_channels} "
                    f'channels but head.key_in_channels={key_channels}: set '
                    f'model.head.key_in_channels={teacher_channels}.')
        else:
            if kd_weight > 0:
                raise UserError('loss_gml.kd_weight > 0 needs a teacher: '
                                'set teacher=dict(..., checkpoint=...) or '
                                'kd_weight=0.')
            if with_contrastive:
                if key_channels is not None:
                    raise UserError(
                        'The momentum key encoder embeds the head\'s own '
                        'features with its own projector: remove '
                        'head.key_in_channels (or give a teacher).')
                self.key_encoder = ExponentialMovingAverage(
                    self._key_source(), momentum=momentum)
        self.with_kd = self.teacher is not None and kd_weight > 0

    def _key_source(self) -> _KeyEncoder:
        return _KeyEncoder(self.backbone, self.neck,
                           self.head.contrast.projector)

    # ------------------------------------------------------------------
    # Teacher
    # ------------------------------------------------------------------
    def init_weights(self) -> None:
        """Initialise the student, then load the teacher's checkpoint (or
        leave it to a resumed student checkpoint, see
        :func:`mil_seg.gml.teacher.load_teacher_or_defer`)."""
        super().init_weights()
        if self.teacher is not None:
            if self.teacher_checkpoint is None:
                raise UserError('teacher.checkpoint is not set: give the '
                                'stage-1 checkpoint of the teacher.')
            load_teacher_or_defer(self.teacher, self.teacher_checkpoint,
                                  self.teacher_loaded)

    def load_teacher(self, checkpoint: str) -> None:
        """Load the teacher's weights strictly (see
        :func:`mil_seg.gml.teacher.load_frozen_teacher`); other head entries
        of the checkpoint (a stage-1 queue) are ignored.

        Args:
            checkpoint (str): Path or URL of the stage-1 checkpoint.

        Raises:
            UserError: If keys or shapes do not match the teacher config.
        """
        load_frozen_teacher(self.teacher, checkpoint)
        self.teacher_loaded.fill_(True)

    def train(self, mode: bool = True) -> 'GMLClassifier':
        """Set the training mode; the teacher always stays in eval mode."""
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def loss(self, inputs: Union[Tensor, List[Tensor]],
             data_samples: List[DataSample]) -> Dict[str, Tensor]:
        """GML losses of a batch of views.

        Args:
            inputs (Tensor | list[Tensor]): One view (N x C x H x W), or the
                views ``[cls, query, key]`` / ``[query, key]``.
            data_samples (list[DataSample]): With ``gt_label`` and
                ``sample_idx``.

        Returns:
            dict[str, Tensor]: The loss terms of :class:`GMLClsHead`.
        """
        if self.teacher is not None:
            require_loaded_teacher(self.teacher_loaded,
                                   self.teacher_checkpoint)
        views = list(inputs) if isinstance(inputs, (list, tuple)) \
            else [inputs]
        with_contrastive = getattr(self.head, 'with_contrastive', False)
        if len(views) == 1 or not with_contrastive:
            img = views[0]
            teacher_logits = None
            if self.with_kd:
                with torch.no_grad():
                    teacher_logits = self.teacher.head(
                        self.teacher.extract_feat(img))
            return self.head.loss(
                self.extract_feat(img),
                data_samples,
                teacher_logits=teacher_logits)
        if len(views) == 2:
            img_cls, img_key = views
            feats = query_feats = self.extract_feat(img_cls)
        elif len(views) == 3:
            img_cls, img_query, img_key = views
            num = img_cls.shape[0]
            feats, query_feats = _split(
                self.extract_feat(torch.cat([img_cls, img_query])),
                [num, num])
        else:
            raise UserError(f'GMLClassifier takes 1 to 3 views, got '
                            f'{len(views)}: check the MultiView transform.')

        teacher_logits, key_projector = None, None
        with torch.no_grad():
            if self.teacher is not None:
                num = img_key.shape[0]
                batch = torch.cat([img_key, img_cls]) if self.with_kd \
                    else img_key
                teacher_feats = self.teacher.extract_feat(batch)
                key_feats = self.teacher.head.pre_logits(teacher_feats)[:num]
                if self.with_kd:
                    teacher_logits = self.teacher.head(
                        _split(teacher_feats, [num, num])[1])
            else:
                # Update the momentum encoder, then embed the key view.
                self.key_encoder.update_parameters(self._key_source())
                key_feats = self.key_encoder(img_key)
                key_projector = self.key_encoder.module.projector
        return self.head.loss(
            feats,
            data_samples,
            query_feats=query_feats,
            key_feats=key_feats,
            key_projector=key_projector,
            teacher_logits=teacher_logits)
