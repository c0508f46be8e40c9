"""Backbones of the classification adapter."""
from .cifar_resnet import CIFARResNet

__all__ = ['CIFARResNet']
