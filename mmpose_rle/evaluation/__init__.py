"""Evaluation of the predicted σ: uncertainty metrics, σ-aware COCO scoring, the ranking
of instance scores, and the pairing of a bottom-up model's predictions with the ground
truth."""

from .instance_matching import (
    DATA_MODES,
    InstancePairs,
    instance_pairs,
    is_bottomup,
    match_instances,
)
from .instance_ranking import instance_oks, oracle_keypoint_scores, score_ranking
from .sigma_score import SigmaCocoMetric, expected_oks
from .uncertainty import (
    FAMILIES,
    calibration_error,
    coverage,
    negative_log_likelihood,
    nominal_coverage,
    reliability,
    rms_ratio,
    sparsification,
    spearman,
    uncertainty_metrics,
)
from .uncertainty_metric import UncertaintyMetric, errors_and_sigmas, image_sigmas

__all__ = [
    'FAMILIES',
    'calibration_error',
    'coverage',
    'negative_log_likelihood',
    'nominal_coverage',
    'reliability',
    'rms_ratio',
    'sparsification',
    'spearman',
    'uncertainty_metrics',
    'UncertaintyMetric',
    'errors_and_sigmas',
    'image_sigmas',
    'DATA_MODES',
    'InstancePairs',
    'instance_pairs',
    'is_bottomup',
    'match_instances',
    'SigmaCocoMetric',
    'expected_oks',
    'instance_oks',
    'score_ranking',
    'oracle_keypoint_scores',
]
