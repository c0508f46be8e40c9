"""The frozen stage-1 teacher of two-stage GML segmentors, shared by the
plain and the cascade encoder-decoder."""
import copy
from typing import List, Optional, Tuple

import torch
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor, nn

from mil_seg.gml.teacher import load_teacher_or_defer, require_loaded_teacher
from mil_seg.errors import UserError, WrongModuleError
from .gml_head import GMLHead


def last_decode_head(model: nn.Module) -> nn.Module:
    """A segmentor's decode head, or a cascade's last one."""
    head = model.decode_head
    return head[-1] if isinstance(head, nn.ModuleList) else head


def last_gml_head(model: nn.Module, role: str) -> GMLHead:
    """The GML head of a segmentor: its decode head, or a cascade's last.

    Args:
        model (nn.Module): An ``EncoderDecoder`` or ``CascadeEncoderDecoder``.
        role (str): Config key named in the error, e.g. 'model.teacher'.

    Returns:
        GMLHead: The head.

    Raises:
        WrongModuleError: If that head is not a :class:`GMLHead` (a
            ``TypeError``).
    """
    head = last_decode_head(model)
    if isinstance(model.decode_head, nn.ModuleList):
        role = f'{role}.decode_head[-1]'
    else:
        role = f'{role}.decode_head'
    if not isinstance(head, GMLHead):
        raise WrongModuleError(
            f'{role} must be a GMLHead (GMLCascadeHead in a cascade), got '
            f'{type(head).__name__}: two-stage GML feeds the queue from the '
            "stage-1 GML head's pixel features.")
    return head


#: The model parts a teacher config may leave out: then they are the
#: student's (:func:`stage_one_model`).
STUDENT_PARTS = ('backbone', 'neck', 'decode_head', 'auxiliary_head',
                 'num_stages', 'test_cfg')


def _without_pretrained(backbone: dict) -> dict:
    """A backbone config that loads no pretrained weights: the teacher's
    weights all come from its stage-1 checkpoint."""
    backbone = dict(backbone)
    if 'pretrained' in backbone:
        backbone['pretrained'] = None
    init_cfg = backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        backbone.pop('init_cfg')
    return backbone


def _stage_one_head(head: dict) -> dict:
    """A student GML head's config as stage 1 trained it: no contrastive
    term, no distillation, no keys from a teacher."""
    head = copy.deepcopy(dict(head))
    head.pop('key_in_channels', None)
    head['loss_gml'] = dict(head.get('loss_gml') or {}, con_weight=0.0,
                            kd_weight=0.0)
    return head


def stage_one_model(teacher: dict, student: dict) -> dict:
    """The teacher's model config: ``teacher``'s own parts, and for each
    part of :data:`STUDENT_PARTS` it leaves out, the student's, as the
    single-model two-stage recipe trains it: the same segmentor, its GML
    head (a cascade's last) without the contrastive and distillation
    terms, no pretrained weights (the checkpoint holds them all).

    Args:
        teacher (dict): ``model.teacher`` without ``checkpoint``.
        student (dict): The student's segmentor arguments.

    Returns:
        dict: The teacher's model config.
    """
    teacher = dict(teacher)
    if 'backbone' not in teacher and student.get('backbone') is not None:
        teacher['backbone'] = _without_pretrained(student['backbone'])
    for part in STUDENT_PARTS[1:]:
        if part in teacher or student.get(part) is None:
            continue
        value = copy.deepcopy(student[part])
        if part == 'decode_head':
            value = ([*value[:-1], _stage_one_head(value[-1])]
                     if isinstance(value, (list, tuple)) else
                     _stage_one_head(value))
        teacher[part] = value
    return teacher


class FrozenTeacherMixin:
    """A frozen stage-1 segmentor whose decoder features fill GML's queue.

    Mixed into an mmseg segmentor (before it in the bases). The teacher is
    the stage-1 model, rebuilt from ``teacher`` (its last decode head a
    :class:`GMLHead`; parts it leaves out are the student's, see
    :func:`stage_one_model`, so ``teacher=dict(checkpoint=...)`` is the
    same model trained as stage 1), loaded strictly from
    ``teacher['checkpoint']`` when
    the weights are initialised, frozen (``requires_grad=False``) and always
    in eval mode, so its BN statistics and dropout never change. Its
    weights are part of the student's ``state_dict``, with the
    ``teacher_loaded`` flag: a run resumed (or started with ``load_from``)
    from a student checkpoint needs no teacher file, and a run whose
    teacher came from nowhere stops at its first step.
    """

    teacher_type = 'EncoderDecoder'

    def _set_teacher(self, teacher: ConfigType,
                     student: Optional[dict] = None) -> None:
        """Build and freeze the teacher; check the student's GML head.

        Args:
            teacher (dict): The stage-1 model config plus ``checkpoint``
                (``type`` defaults to :attr:`teacher_type`; its
                ``data_preprocessor``, ``train_cfg`` and ``pretrained``
                are ignored; parts it leaves out are the student's).
            student (dict, optional): The student's segmentor arguments.
                Defaults to None (the teacher is given whole).

        Raises:
            WrongModuleError: If the teacher's or the student's last decode
                head is not a :class:`GMLHead`.
            UserError: If the student's ``key_in_channels`` is not the
                teacher's feature channels.
        """
        teacher = copy.deepcopy(dict(teacher))
        self.teacher_checkpoint: Optional[str] = teacher.pop(
            'checkpoint', None)
        teacher.setdefault('type', self.teacher_type)
        for key in ('data_preprocessor', 'train_cfg', 'pretrained'):
            teacher.pop(key, None)
        if student is not None:
            teacher = stage_one_model(teacher, student)
        teacher_model = MODELS.build(teacher)
        teacher_channels = last_gml_head(teacher_model,
                                         'model.teacher').channels
        student_head = last_gml_head(self, 'model')
        if student_head.with_contrastive and \
                student_head.key_in_channels != teacher_channels:
            raise UserError(
                f"The teacher's decoder has {teacher_channels} feature "
                'channels: set key_in_channels='
                f'{teacher_channels} in the GML head of model.decode_head.')
        teacher_model.requires_grad_(False)
        teacher_model.eval()
        self.teacher = teacher_model
        self.register_buffer('teacher_loaded', torch.tensor(False))

    @property
    def student_gml_head(self) -> GMLHead:
        """The student's GML head (the cascade's last stage)."""
        return last_decode_head(self)

    @property
    def with_distillation(self) -> bool:
        """Whether the student head distils the teacher's logits."""
        return self.student_gml_head.loss_gml.kd_weight > 0

    @property
    def needs_teacher(self) -> bool:
        """Whether a training step runs the teacher at all."""
        return self.student_gml_head.with_contrastive or \
            self.with_distillation

    def _teacher_strict_prefixes(self) -> Tuple[str, ...]:
        """Checkpoint prefixes that must match the teacher exactly: all but
        the GML head's own extras (a stage-1 queue or projector)."""
        prefixes = ['backbone.', 'neck.']
        heads = self.teacher.decode_head
        if isinstance(heads, nn.ModuleList):
            prefixes += [f'decode_head.{i}.' for i in range(len(heads) - 1)]
            prefixes.append(f'decode_head.{len(heads) - 1}.decoder.')
        else:
            prefixes.append('decode_head.decoder.')
        return tuple(prefixes)

    def init_weights(self) -> None:
        """Initialise the student, then load the teacher's checkpoint (or
        leave it to a resumed student checkpoint, see
        :func:`mil_seg.gml.teacher.load_teacher_or_defer`).

        Raises:
            UserError: If ``model.teacher.checkpoint`` is not set.
        """
        super().init_weights()
        if self.teacher_checkpoint is None:
            raise UserError('model.teacher.checkpoint is not set: give the '
                            'stage-1 checkpoint of the teacher.')
        load_teacher_or_defer(
            self.teacher,
            self.teacher_checkpoint,
            self.teacher_loaded,
            strict_prefixes=self._teacher_strict_prefixes())

    def train(self, mode: bool = True) -> nn.Module:
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
            tuple[Tensor, Tensor | None]: Features B x F_t x h x w of its
            GML head's decoder and its prior-free logits B x C x h x w
            (None without distillation).
        """
        require_loaded_teacher(self.teacher_loaded, self.teacher_checkpoint)
        x = self.teacher.extract_feat(inputs)
        heads = self.teacher.decode_head
        last = last_decode_head(self.teacher)
        if isinstance(heads, nn.ModuleList):
            previous = heads[0].forward(x)
            for head in heads[1:-1]:
                previous = head.forward(x, previous)
            features = last._decode_features(x, previous)
        else:
            features = last._decode_features(x)
        logits = last.cls_seg(features) if self.with_distillation else None
        return features, logits

    def _decode_head_forward_train(self, inputs: List[Tensor],
                                   data_samples: SampleList) -> dict:
        raise NotImplementedError(
            f'{type(self).__name__}.loss calls the decode heads itself: the '
            'GML head needs the teacher, which needs the input images.')
