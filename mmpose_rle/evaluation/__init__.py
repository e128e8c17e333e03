"""Evaluation of the predicted σ: uncertainty metrics and σ-aware COCO scoring."""

from .sigma_score import SigmaCocoMetric, expected_oks
from .uncertainty import (
    FAMILIES,
    calibration_error,
    coverage,
    negative_log_likelihood,
    nominal_coverage,
    reliability,
    sparsification,
    spearman,
    uncertainty_metrics,
)
from .uncertainty_metric import UncertaintyMetric, errors_and_sigmas

__all__ = [
    'FAMILIES',
    'calibration_error',
    'coverage',
    'negative_log_likelihood',
    'nominal_coverage',
    'reliability',
    'sparsification',
    'spearman',
    'uncertainty_metrics',
    'UncertaintyMetric',
    'errors_and_sigmas',
    'SigmaCocoMetric',
    'expected_oks',
]
