"""Dataset class of the generated synthetic long-tailed demo data."""
import json
import os.path as osp
from typing import Optional, Sequence

from mmengine.dist import barrier, is_main_process
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mil_seg.errors import UserError
from .synthetic_lt_generator import (SYNTHETIC_LT_META_FILE,
                                     generate_synthetic_lt_dataset,
                                     synthetic_lt_class_names)


@DATASETS.register_module()
class SyntheticLTDataset(BaseSegDataset):
    """Synthetic long-tailed segmentation data (the embedded demo).

    Reads the layout written by
    :func:`~mil_seg.seg.datasets.generate_synthetic_lt_dataset`
    (``img_dir/{split}``, ``ann_dir/{split}``, ``meta.json``). Class names
    and palette are read from ``meta.json`` when it exists (and ``metainfo``
    does not set them), so data generated with another ``num_classes`` loads
    without a new class; otherwise the default 8 classes are used.

    With ``auto_generate=True`` a missing dataset (no ``meta.json`` under
    ``data_root``) is generated first, by the main process only, with
    ``generate_cfg`` as the generator's keyword arguments; the others wait at
    a barrier. This lets the demo config run with no setup step. Note that a
    model whose prior is read from ``class_prior.json`` at build time needs
    the data before the dataloaders are built: run
    ``tools/dataset_converters/make_synthetic_lt.py`` first in that case.

    Args:
        meta_file (str): Metadata file, relative to ``data_root``.
            Defaults to 'meta.json'.
        auto_generate (bool): Whether to generate the data when
            ``meta_file`` is missing. Defaults to False.
        generate_cfg (dict, optional): Keyword arguments of the generator
            (e.g. ``num_train``, ``seed``). Defaults to None (its defaults).
        img_suffix (str): Suffix of images. Defaults to '.png'.
        seg_map_suffix (str): Suffix of annotations. Defaults to '.png'.
        reduce_zero_label (bool): Whether to mark label zero as ignored.
            Defaults to False (class 0 is the background, a real class).
        **kwargs: Other arguments of :class:`mmseg.datasets.BaseSegDataset`.
    """
    METAINFO = dict(
        classes=synthetic_lt_class_names(8),
        palette=[[118, 118, 118], [200, 100, 90], [120, 190, 80],
                 [80, 170, 200], [190, 90, 200], [230, 160, 40],
                 [40, 120, 60], [60, 60, 200]])

    def __init__(self,
                 meta_file: str = SYNTHETIC_LT_META_FILE,
                 auto_generate: bool = False,
                 generate_cfg: Optional[dict] = None,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 **kwargs) -> None:
        meta_path = meta_file
        if data_root is not None and not osp.isabs(meta_file):
            meta_path = osp.join(data_root, meta_file)
        if auto_generate and not osp.isfile(meta_path):
            if data_root is None:
                raise UserError('auto_generate needs a data_root')
            if is_main_process():
                generate_synthetic_lt_dataset(data_root,
                                              **(generate_cfg or {}))
            barrier()
        metainfo = dict(metainfo or {})
        # classes read from meta.json are the dataset's own label ids, not a
        # subset of METAINFO to remap: see get_label_map.
        self._classes_from_meta = False
        if 'classes' not in metainfo and osp.isfile(meta_path):
            self._classes_from_meta = True
            with open(meta_path, encoding='utf-8') as f:
                meta = json.load(f)
            metainfo['classes'] = tuple(meta['classes'])
            metainfo.setdefault('palette', meta.get('palette'))
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            metainfo=metainfo or None,
            data_root=data_root,
            **kwargs)

    def get_label_map(self,
                      new_classes: Optional[Sequence] = None
                      ) -> Optional[dict]:
        """Label map from METAINFO ids to the ids of ``new_classes``.

        Classes read from ``meta.json`` describe the files as written, so no
        remapping is needed (and any ``num_classes`` is accepted); classes
        given in ``metainfo`` keep mmseg's subset semantics.
        """
        if self._classes_from_meta:
            return None
        return super().get_label_map(new_classes)
