"""Encoder-decoder whose GML head takes its queue keys from a frozen teacher
(two-stage GML for segmentation)."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor

from mil_seg.gml.teacher import load_frozen_teacher
from .gml_head import GMLHead


@MODELS.register_module()
class GMLEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` with a frozen stage-1 teacher feeding GML's queue.

    Stage 1 trains a segmentor whose decode head is a :class:`GMLHead`
    (usually with ``loss_gml.con_weight=0``: logit-adjusted cosine CE).
    Stage 2 builds that model again as ``teacher``, loads its checkpoint
    strictly when the weights are initialised (a teacher config that does
    not match the checkpoint is an error naming the keys), freezes it
    (``requires_grad=False``, always in eval mode: BN statistics and dropout
    of the teacher never change) and, in every training step, runs it on
    the student's preprocessed batch. Its decoder's pixel features (before
    the classifier) go to the student head as ``teacher_features``: the
    student's anchors push the teacher's features at the same pixels into
    the class-balanced queue and a trainable key projector embeds them
    (``decode_head.key_in_channels`` = the teacher decoder's channels). With
    ``decode_head.loss_gml.kd_weight > 0`` its prior-free logits are also
    distilled. Prediction uses the student only.

    The teacher shares the student's data preprocessor (mean, std, padding):
    train both stages with the same normalisation. Its weights are part of
    the student's ``state_dict`` (so a resumed run needs no teacher file);
    a student checkpoint is therefore larger by the teacher's size.

    Cost: one teacher forward (no backward) per step.

    Args:
        teacher (dict): The stage-1 segmentor's model config (``type``
            defaults to ``'EncoderDecoder'``; its ``data_preprocessor`` and
            ``train_cfg`` are ignored) plus ``checkpoint``, the stage-1
            checkpoint. Its ``decode_head`` must be a :class:`GMLHead`.
        **kwargs: Arguments of mmseg's ``EncoderDecoder``; ``decode_head``
            must be a :class:`GMLHead` with ``key_in_channels`` set.
    """

    def __init__(self, teacher: ConfigType, **kwargs) -> None:
        super().__init__(**kwargs)
        teacher = copy.deepcopy(dict(teacher))
        self.teacher_checkpoint: Optional[str] = teacher.pop(
            'checkpoint', None)
        teacher.setdefault('type', 'EncoderDecoder')
        for key in ('data_preprocessor', 'train_cfg', 'pretrained'):
            teacher.pop(key, None)
        teacher_model = MODELS.build(teacher)
        if not isinstance(getattr(teacher_model, 'decode_head', None),
                          GMLHead):
            raise TypeError(
                "model.teacher.decode_head must be a GMLHead (the stage-1 "
                "head, e.g. with loss_gml.con_weight=0), got "
                f'{type(teacher_model.decode_head).__name__}: its pixel '
                'features before the classifier fill the queue.')
        if not isinstance(self.decode_head, GMLHead):
            raise TypeError('GMLEncoderDecoder needs a GMLHead as '
                            'model.decode_head, got '
                            f'{type(self.decode_head).__name__}.')
        teacher_channels = teacher_model.decode_head.channels
        if self.decode_head.with_contrastive and \
                self.decode_head.key_in_channels != teacher_channels:
            raise ValueError(
                f"The teacher's decoder has {teacher_channels} feature "
                'channels: set model.decode_head.key_in_channels='
                f'{teacher_channels}.')
        teacher_model.requires_grad_(False)
        teacher_model.eval()
        self.teacher = teacher_model

    @property
    def with_distillation(self) -> bool:
        """Whether the student head distils the teacher's logits."""
        return self.decode_head.loss_gml.kd_weight > 0

    def init_weights(self) -> None:
        """Initialise the student, then load the teacher's checkpoint."""
        super().init_weights()
        if self.teacher_checkpoint is None:
            raise ValueError('model.teacher.checkpoint is not set: give the '
                             'stage-1 checkpoint of the teacher.')
        load_frozen_teacher(
            self.teacher,
            self.teacher_checkpoint,
            strict_prefixes=('backbone.', 'neck.', 'decode_head.decoder.'))

    def train(self, mode: bool = True) -> 'GMLEncoderDecoder':
        """Set the training mode; the teacher always stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    @torch.no_grad()
    def teacher_outputs(self, inputs: Tensor) -> Tuple[Tensor,
                                                       Optional[Tensor]]:
        """The teacher's pixel features and (when distilled) logits.

        Args:
            inputs (Tensor): The preprocessed batch, B x 3 x H x W.

        Returns:
            tuple[Tensor, Tensor | None]: Features B x F_t x h x w and
            prior-free logits B x C x h x w (None without distillation).
        """
        head = self.teacher.decode_head
        features = head._decode_features(self.teacher.extract_feat(inputs))
        logits = head.cls_seg(features) if self.with_distillation else None
        return features, logits

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str,
                                                                     Tensor]:
        """Losses of a batch, the decode head's with the teacher's outputs.

        Args:
            inputs (Tensor): Input images, B x 3 x H x W.
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``decode.*`` and ``aux.*`` loss terms.
        """
        x = self.extract_feat(inputs)
        losses = dict()
        # The head reads teacher_features only when its contrastive term is
        # on, and the logits come from those features anyway.
        teacher_features = teacher_logits = None
        if self.decode_head.with_contrastive or self.with_distillation:
            teacher_features, teacher_logits = self.teacher_outputs(inputs)
        loss_decode = self.decode_head.loss(
            x,
            data_samples,
            self.train_cfg,
            teacher_features=teacher_features,
            teacher_logits=teacher_logits)
        losses.update(add_prefix(loss_decode, 'decode'))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses

    def _decode_head_forward_train(self, inputs: List[Tensor],
                                   data_samples: SampleList) -> dict:
        raise NotImplementedError(
            'GMLEncoderDecoder.loss calls the decode head itself (it needs '
            'the input images for the teacher).')
