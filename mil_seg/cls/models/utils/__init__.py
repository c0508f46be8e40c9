"""Model utilities of the classification adapter."""
from .class_prior import build_class_prior, fill_class_prior, prior_is_empty
from .multi_view_data_preprocessor import MultiViewClsDataPreprocessor

__all__ = [
    'build_class_prior', 'fill_class_prior', 'prior_is_empty',
    'MultiViewClsDataPreprocessor'
]
