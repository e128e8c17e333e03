"""Evaluation of the predicted σ: uncertainty metrics, σ-aware COCO scoring and the ranking
of instance scores."""

from .instance_ranking import instance_oks, oracle_keypoint_scores, score_ranking
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
    'instance_oks',
    'score_ranking',
    'oracle_keypoint_scores',
]
