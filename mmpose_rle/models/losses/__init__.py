"""Losses."""

from .heatmap_kl_loss import HeatmapKLLoss, gaussian_log_target
from .rle_loss import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS, RLELoss
from .rle_predictive import RLEPredictive

__all__ = [
    'RLELoss',
    'RLEPredictive',
    'HeatmapKLLoss',
    'gaussian_log_target',
    'DESIGNS',
    'FORMULATIONS',
    'Q_DISTRIBUTIONS',
]
