"""Data preprocessor for several augmented views of each image."""
from typing import Sequence

import torch
from mmpretrain.models.utils import ClsDataPreprocessor
from mmpretrain.registry import MODELS

from mil_seg.errors import UserError


def _is_multi_view(inputs) -> bool:
    """True for a list of views: batched tensors (``default_collate``) or
    lists of per-image tensors (``pseudo_collate``)."""
    if not isinstance(inputs, Sequence) or isinstance(inputs, torch.Tensor):
        return False
    if len(inputs) == 0:
        return False
    first = inputs[0]
    return isinstance(first, Sequence) or (isinstance(first, torch.Tensor)
                                           and first.dim() == 4)


@MODELS.register_module()
class MultiViewClsDataPreprocessor(ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that also accepts several views per image.

    With mmpretrain's ``MultiView`` transform before ``PackInputs``, each
    sample's ``inputs`` is a list of V images; the batch then holds V
    views. Each view is normalised (and converted to RGB, padded) like a
    single-view batch and ``inputs`` becomes a list of V tensors
    (N x C x H x W), in the order of the ``MultiView`` transforms. A
    single-view batch (validation, test) is handled exactly as by
    ``ClsDataPreprocessor``.

    Batch augmentations (Mixup, CutMix) are not supported with several
    views: the views would be mixed differently.

    Args:
        **kwargs: Arguments of :class:`mmpretrain.models.ClsDataPreprocessor`
            (``mean``, ``std``, ``to_rgb``, ``num_classes``...).
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise every view.

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the dataloader.
            training (bool): Whether in training. Defaults to False.

        Returns:
            dict: ``inputs`` (a tensor, or a list of V tensors) and
            ``data_samples``.

        Raises:
            UserError: If the views come with batch augmentations.
        """
        inputs = data['inputs']
        if not _is_multi_view(inputs):
            return super().forward(data, training)
        if self.batch_augments is not None:
            raise UserError('MultiViewClsDataPreprocessor does not support '
                            'batch augmentations: remove train_cfg.augments '
                            'or use a single view.')
        views, data_samples = [], data.get('data_samples')
        for view in inputs:
            out = super().forward(
                dict(inputs=view, data_samples=data_samples), training)
            views.append(out['inputs'])
            data_samples = out['data_samples']
        return dict(inputs=views, data_samples=data_samples)
