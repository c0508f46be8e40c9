"""Losses of the classification adapter."""
from .logit_adjusted_loss import LogitAdjustedLoss

__all__ = ['LogitAdjustedLoss']
