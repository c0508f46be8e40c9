"""Model utilities of the classification adapter."""
from .multi_view_data_preprocessor import MultiViewClsDataPreprocessor

__all__ = ['MultiViewClsDataPreprocessor']
