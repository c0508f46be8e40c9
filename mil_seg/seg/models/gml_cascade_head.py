"""GML head for the last stage of a ``CascadeEncoderDecoder``."""
from typing import Dict, List, Optional

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList
from torch import Tensor

from .gml_head import GMLHead


@MODELS.register_module()
class GMLCascadeHead(GMLHead):
    """:class:`GMLHead` wrapping a cascade decode head (e.g. ``OCRHead``).

    ``CascadeEncoderDecoder`` passes every stage after the first the previous
    stage's logits (``prev_output``); this head forwards them to the wrapped
    decoder and is otherwise identical to :class:`GMLHead` (same arguments).
    The earlier stages stay ordinary heads with their own losses; OCR's
    spatial gather keeps using the first stage's plain logits. Two stages
    (a frozen teacher's queue keys): :class:`GMLCascadeEncoderDecoder`.

    Example:
        >>> decode_head = [
        ...     dict(type='FCNHead', ...),
        ...     dict(type='GMLCascadeHead',
        ...          decoder=dict(type='OCRHead', ...),
        ...          prior=dict(type='ClassPrior', file='ade20k'))]
    """

    wraps_cascade = True
    counterpart = 'GMLHead'

    def forward(self, inputs: List[Tensor], prev_output: Tensor) -> Tensor:
        """Prior-free logits (post-hoc adjusted in eval mode if set).

        Args:
            inputs (list[Tensor]): Multi-level backbone features.
            prev_output (Tensor): Logits of the previous stage.

        Returns:
            Tensor: Logits, B x C x h x w.
        """
        features = self._decode_features(inputs, prev_output)
        return self._posthoc_adjust(self.cls_seg(features))

    def loss(self,
             inputs: List[Tensor],
             prev_output: Tensor,
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             teacher_features: Optional[Tensor] = None,
             teacher_logits: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the GML losses of a training batch.

        Args:
            inputs (list[Tensor]): Multi-level backbone features.
            prev_output (Tensor): Logits of the previous stage.
            batch_data_samples (list[SegDataSample]): Data samples with
                ``gt_sem_seg``.
            train_cfg (dict): The training config (unused).
            teacher_features (Tensor, optional): A frozen teacher's pixel
                features (two stages, from
                :class:`GMLCascadeEncoderDecoder`). Defaults to None.
            teacher_logits (Tensor, optional): The teacher's prior-free
                logits, for distillation. Defaults to None.

        Returns:
            dict[str, Tensor]: Loss terms and ``acc_seg``.
        """
        return super().loss(inputs, batch_data_samples, train_cfg,
                            teacher_features, teacher_logits, prev_output)

    def predict(self, inputs: List[Tensor], prev_output: Tensor,
                batch_img_metas: List[dict], test_cfg: ConfigType) -> Tensor:
        """Logits resized to the input image size.

        Args:
            inputs (list[Tensor]): Multi-level backbone features.
            prev_output (Tensor): Logits of the previous stage.
            batch_img_metas (list[dict]): Image meta information.
            test_cfg (dict): The testing config (unused).

        Returns:
            Tensor: Segmentation logits.
        """
        return self.predict_by_feat(
            self.forward(inputs, prev_output), batch_img_metas)
