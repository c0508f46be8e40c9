"""Encoder-decoder whose GML head takes its queue keys from a frozen teacher
(two-stage GML for segmentation)."""
from typing import Dict

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor

from .frozen_teacher import FrozenTeacherMixin


@MODELS.register_module()
class GMLEncoderDecoder(FrozenTeacherMixin, EncoderDecoder):
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
            Parts it leaves out are the student's with the GML head's
            contrastive and distillation terms off
            (:func:`~.frozen_teacher.stage_one_model`): for a teacher of the
            student's architecture, ``dict(checkpoint=...)`` is all.
        **kwargs: Arguments of mmseg's ``EncoderDecoder``; ``decode_head``
            must be a :class:`GMLHead` with ``key_in_channels`` set.
    """

    def __init__(self, teacher: ConfigType, **kwargs) -> None:
        super().__init__(**kwargs)
        self._set_teacher(teacher, kwargs)

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
        if self.needs_teacher:
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
