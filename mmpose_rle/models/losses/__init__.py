"""Losses."""

from .rle_loss import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS, RLELoss

__all__ = ['RLELoss', 'DESIGNS', 'FORMULATIONS', 'Q_DISTRIBUTIONS']
