"""Classifiers of the classification adapter."""
from .gml_classifier import GMLClassifier

__all__ = ['GMLClassifier']
