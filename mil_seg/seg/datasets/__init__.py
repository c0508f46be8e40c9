"""Datasets, the synthetic demo generator and dataset statistics."""
from .ade20k_prior import ade20k_prior_from_csv
from .camvid import CamVidDataset
from .camvid_converter import convert_camvid
from .ccp import CCP_CLASSES, CCPDataset
from .ccp_converter import (CCP_SPLIT_FILE, convert_ccp,
                            plan_ccp_conversion, read_ccp_annotation,
                            read_ccp_split)
from .class_stats import (annotation_only_dataset_cfg, compute_class_counts,
                          count_label_map, write_class_prior)
from .repeat_factor_dataset import (RepeatFactorDataset, repeat_factors,
                                    repeated_indices)
from .synthetic_lt import SyntheticLTDataset
from .synthetic_lt_generator import (generate_synthetic_lt_dataset,
                                     power_law_shares,
                                     synthetic_lt_class_names)

__all__ = [
    'CamVidDataset', 'CCPDataset', 'CCP_CLASSES', 'SyntheticLTDataset',
    'generate_synthetic_lt_dataset', 'power_law_shares',
    'synthetic_lt_class_names', 'convert_camvid', 'convert_ccp',
    'CCP_SPLIT_FILE', 'plan_ccp_conversion', 'read_ccp_annotation',
    'read_ccp_split',
    'annotation_only_dataset_cfg', 'compute_class_counts', 'count_label_map',
    'write_class_prior', 'ade20k_prior_from_csv', 'RepeatFactorDataset',
    'repeat_factors', 'repeated_indices'
]
