"""Cascade encoder-decoder (e.g. OCRNet) whose last GML stage takes its
queue keys from a frozen teacher (two-stage GML)."""
from typing import Dict

from mmseg.models.segmentors import CascadeEncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix
from torch import Tensor

from .frozen_teacher import FrozenTeacherMixin


@MODELS.register_module()
class GMLCascadeEncoderDecoder(FrozenTeacherMixin, CascadeEncoderDecoder):
    """``CascadeEncoderDecoder`` with a frozen stage-1 teacher for its last
    head, a :class:`GMLCascadeHead` (two-stage GML for OCRNet and other
    cascades).

    The cascade counterpart of :class:`GMLEncoderDecoder`: stage 1 is the
    same cascade trained with GML (usually ``loss_gml.con_weight=0``);
    stage 2 rebuilds it as ``teacher`` (type ``CascadeEncoderDecoder`` by
    default), loads its checkpoint strictly (backbone, neck, every earlier
    stage and the last stage's decoder), freezes it and keeps it in eval
    mode. Each training step runs the whole teacher cascade on the
    student's preprocessed batch; its last stage's decoder features fill
    the student's queue at the anchors (``key_in_channels`` of the last
    head = the teacher's channels) and, with ``loss_gml.kd_weight > 0``,
    its prior-free logits are distilled. The earlier student stages train
    with their own losses, as in ``CascadeEncoderDecoder``. Prediction uses
    the student only.

    Cost: one teacher forward (no backward) per step.

    Args:
        teacher (dict): The stage-1 cascade's model config plus
            ``checkpoint``. Its last decode head must be a GML head. Parts
            it leaves out are the student's, as for
            :class:`GMLEncoderDecoder`.
        **kwargs: Arguments of mmseg's ``CascadeEncoderDecoder``; the last
            entry of ``decode_head`` must be a :class:`GMLCascadeHead` with
            ``key_in_channels`` set.
    """

    teacher_type = 'CascadeEncoderDecoder'

    def __init__(self, teacher: ConfigType, **kwargs) -> None:
        super().__init__(**kwargs)
        self._set_teacher(teacher, kwargs)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str,
                                                                     Tensor]:
        """Losses of a batch: every stage's, the last with the teacher's
        outputs.

        Args:
            inputs (Tensor): Input images, B x 3 x H x W.
            data_samples (list[SegDataSample]): With ``gt_sem_seg``.

        Returns:
            dict[str, Tensor]: ``decode_{i}.*`` and ``aux.*`` loss terms.
        """
        x = self.extract_feat(inputs)
        teacher_features = teacher_logits = None
        if self.needs_teacher:
            teacher_features, teacher_logits = self.teacher_outputs(inputs)
        heads = self.decode_head
        losses = add_prefix(heads[0].loss(x, data_samples, self.train_cfg),
                            'decode_0')
        previous = heads[0].forward(x)
        for stage in range(1, self.num_stages):
            if stage > 1:
                previous = heads[stage - 1].forward(x, previous)
            teacher_inputs = dict()
            if stage == self.num_stages - 1:
                teacher_inputs = dict(
                    teacher_features=teacher_features,
                    teacher_logits=teacher_logits)
            stage_losses = heads[stage].loss(x, previous, data_samples,
                                             self.train_cfg,
                                             **teacher_inputs)
            losses.update(add_prefix(stage_losses, f'decode_{stage}'))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses
