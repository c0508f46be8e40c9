"""Pixel contrast: the segmentation-only parts of GML's contrastive terms."""
from typing import Dict, Optional, Tuple

import torch
from mmengine.dist import get_dist_info
from mmseg.models.utils import resize
from mmseg.registry import TASK_UTILS
from mmseg.utils import ConfigType
from torch import Tensor

from mil_seg.gml.contrast import ContrastiveBranch
from mil_seg.gml.prior import PriorConfig
from mil_seg.errors import UserError
from .image_regions import image_class_means, labels_at_feature_size

# Sample ids of anchor pixels: ``image_id * PIXELS_PER_IMAGE + pixel`` with
# ``image_id = (step * world_size + rank) * IMAGES_PER_RANK_STEP + index in
# batch``. Unique across pixels, images, ranks and steps as long as a feature
# map has fewer than 2**22 pixels (2048 x 2048), a rank sees fewer than 1024
# images per step and step * world_size < 2**31.
PIXELS_PER_IMAGE = 2**22
IMAGES_PER_RANK_STEP = 1024
QUEUE_KEYS = ('pixel', 'region')
SELF_EXCLUSION = ('pixel', 'image')


class PixelContrast(ContrastiveBranch):
    """:class:`~mil_seg.gml.contrast.ContrastiveBranch` for pixels.

    What segmentation adds to the shared step: per image, anchor pixels
    drawn class-balanced at feature resolution from the labels downsampled
    by nearest neighbour (ignored pixels never drawn); sample ids that are
    unique over (step, rank, image, pixel), for the self-exclusion of
    ``L_con_T``; optionally one region key per (image, class) instead of
    the anchors' keys; and the mask of every anchor's own-image keys.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Channels F of the decoder's pixel features.
        ignore_index (int): The head's ignored label.
        anchor_sampler (dict): Config of the anchor sampler (``TASK_UTILS``,
            with a ``sample_batch`` method); its ``ignore_index`` is set.
        self_exclusion (str): What ``L_con_T`` excludes for a query: keys of
            the same ``'pixel'`` (the method's (image id, pixel id)) or of
            the same ``'image'`` (stricter; neighbouring pixels are nearly
            duplicates). Defaults to 'pixel'.
        exclude_own_image_keys (bool): Leave out, for every anchor, the
            queue keys of its own image in ``L_con`` and ``L_con_T`` (given
            as image ids, ``query_group_ids`` / ``key_group_ids``, which the
            loss matches without an N x K mask). The queue is written
            before the loss, so without it an
            anchor meets its own detached feature (similarity 1, no second
            view as in classification) and its image's near-duplicate
            pixels; for classes with few slots these dominate the positive
            term and leave no contrastive signal. Keys of the batch's other
            images stay. Defaults to True.
        queue_keys (str): What a step writes into the queue: ``'pixel'``,
            the key features at the anchor pixels, or ``'region'``, one key
            per (image, class present at feature resolution), the mean key
            feature over that class's pixels in the image (pixel-to-region
            contrast): a ring of a fixed size then spans many more images.
            Defaults to 'pixel'.
        align_corners (bool): Of the resize of a teacher's features to the
            head's feature size. Defaults to False.
        **kwargs: ``embed_dim``, ``projector_hidden_channels``,
            ``key_in_channels``, ``queue`` and ``prior`` of
            :class:`ContrastiveBranch`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 ignore_index: int,
                 anchor_sampler: ConfigType,
                 self_exclusion: str = 'pixel',
                 exclude_own_image_keys: bool = True,
                 queue_keys: str = 'pixel',
                 align_corners: bool = False,
                 prior: PriorConfig = None,
                 **kwargs) -> None:
        if queue_keys not in QUEUE_KEYS:
            raise UserError("queue_keys must be 'pixel' or 'region', got "
                            f'{queue_keys!r}')
        if self_exclusion not in SELF_EXCLUSION:
            raise UserError("self_exclusion must be 'pixel' or 'image', "
                            f'got {self_exclusion!r}')
        super().__init__(num_classes, in_channels, prior=prior, **kwargs)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.self_exclusion = self_exclusion
        self.exclude_own_image_keys = exclude_own_image_keys
        self.queue_keys = queue_keys
        self.align_corners = align_corners
        sampler_cfg = dict(anchor_sampler)
        sampler_cfg['ignore_index'] = ignore_index
        self.anchor_sampler = TASK_UTILS.build(sampler_cfg)

    def image_ids(self, step: Tensor, image_index: Tensor) -> Tensor:
        """Image ids unique over (step, rank, image in batch)."""
        rank, world_size = get_dist_info()
        return (step * world_size + rank) * IMAGES_PER_RANK_STEP + image_index

    def sample_ids(self, step: Tensor, image_index: Tensor,
                   pixel_index: Tensor) -> Tensor:
        """Ids unique over (step, rank, image, pixel) for self-exclusion."""
        image_id = self.image_ids(step, image_index)
        if self.self_exclusion == 'image':
            return image_id
        return image_id * PIXELS_PER_IMAGE + pixel_index

    def key_image_ids(self, key_ids: Tensor) -> Tensor:
        """Image ids of queue keys from their sample ids (-1: empty)."""
        if self.self_exclusion == 'image':
            return key_ids
        return torch.div(key_ids, PIXELS_PER_IMAGE, rounding_mode='floor')

    def key_source(self, features: Tensor,
                   teacher_features: Optional[Tensor]) -> Tensor:
        """The detached features whose anchors fill the queue (checked)."""
        if self.key_projector is None:
            if teacher_features is not None:
                raise UserError(
                    'teacher features were given but the head has no key '
                    'projector for them: set model.decode_head.'
                    f'key_in_channels={teacher_features.shape[1]}.')
            return features.detach()
        if teacher_features is None:
            raise UserError(
                f'model.decode_head.key_in_channels={self.key_in_channels} '
                "fills the queue with a teacher's features, but none came: "
                "use model.type='GMLEncoderDecoder' (a cascade: "
                "'GMLCascadeEncoderDecoder') with "
                'model.teacher=dict(..., checkpoint=...), or remove '
                'key_in_channels (single stage).')
        if teacher_features.shape[1] != self.key_in_channels:
            raise UserError(
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

    def region_keys(self, step: Tensor, key_source: Tensor,
                    small_label: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """One key per (image, class present): its mean feature.

        Args:
            step (Tensor): The training step (0-dim long).
            key_source (Tensor): B x F x h x w detached features.
            small_label (Tensor): B x h x w labels at feature resolution.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Keys (M x F), their labels (M)
            and sample ids (M), in (image, class) order.
        """
        means, counts = image_class_means(key_source, small_label,
                                          self.num_classes, self.ignore_index)
        present = counts.nonzero().squeeze(1)
        region_features = means[present]
        region_labels = present % self.num_classes
        region_images = torch.div(
            present, self.num_classes, rounding_mode='floor')
        # Past every pixel index of the map, so a region key never takes a
        # pixel's id (the self-exclusion of L_con_T).
        region_ids = self.sample_ids(step, region_images,
                                     PIXELS_PER_IMAGE - 1 - region_labels)
        return region_features, region_labels, region_ids

    def forward(self,
                features: Tensor,
                seg_label: Tensor,
                step: Tensor,
                teacher_features: Optional[Tensor] = None
                ) -> Dict[str, Tensor]:
        """Sample anchors, update the queue and embed queries and keys.

        Args:
            features (Tensor): B x F x h x w decoder features.
            seg_label (Tensor): B x 1 x H x W labels (checked).
            step (Tensor): The head's training step (0-dim long), for ids.
            teacher_features (Tensor, optional): A frozen teacher's
                features (two stages), pushed into the queue instead of
                ``features``. Defaults to None.

        Returns:
            dict[str, Tensor]: Keyword arguments of the contrastive part of
            :class:`~mil_seg.gml.GMLLoss`.
        """
        batch_size, _, height, width = features.shape
        if batch_size > IMAGES_PER_RANK_STEP or (height * width >
                                                 PIXELS_PER_IMAGE):
            raise UserError(
                f'a batch of {batch_size} feature maps of {height}x{width} '
                f'has too many images (> {IMAGES_PER_RANK_STEP}) or pixels '
                f'(> {PIXELS_PER_IMAGE}) for unique anchor ids: use a '
                'smaller batch per GPU or crop.')
        small_label = labels_at_feature_size(seg_label,
                                             (height, width))  # B x h x w
        image_index, pixel_index, anchor_labels = \
            self.anchor_sampler.sample_batch(small_label, self.num_classes)
        # N x F
        anchor_features = features.flatten(2)[image_index, :, pixel_index]
        key_source = self.key_source(features, teacher_features)
        anchor_ids = self.sample_ids(step, image_index, pixel_index)  # N
        if self.queue_keys == 'pixel':
            new_keys = key_source.flatten(2)[image_index, :, pixel_index]
            new_labels, new_ids = anchor_labels, anchor_ids
        else:
            new_keys, new_labels, new_ids = self.region_keys(
                step, key_source, small_label)
        inputs = super().forward(
            anchor_features,
            anchor_labels,
            new_keys,
            new_labels,
            query_ids=anchor_ids,
            key_ids=new_ids)
        if self.exclude_own_image_keys:
            # A query never meets keys of its own image, in L_con as in
            # L_con_T. Its own key is its exact (detached) copy and its
            # neighbours near-copies: with them in L_con, the positive term
            # of a class with few slots (the tail, whose rings hold little
            # more than the current batch) is saturated by the self match.
            inputs['query_group_ids'] = self.image_ids(step, image_index)
            inputs['key_group_ids'] = self.key_image_ids(inputs['key_ids'])
        return inputs
