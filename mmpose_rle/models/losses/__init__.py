"""Losses."""

from .heatmap_kl_loss import HeatmapKLLoss, gaussian_log_target
from .residual_moment import ResidualMoment
from .rle_loss import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS, RMS_SOURCES, RLELoss
from .rle_predictive import RLEPredictive

__all__ = [
    'RLELoss',
    'RLEPredictive',
    'ResidualMoment',
    'HeatmapKLLoss',
    'gaussian_log_target',
    'DESIGNS',
    'FORMULATIONS',
    'Q_DISTRIBUTIONS',
    'RMS_SOURCES',
]
