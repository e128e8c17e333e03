"""Quantiles of the keypoint error: is a model less precise everywhere, or only on hard cases?

EPE and COCO AP summarise the errors in one number each; two models with the same mean can
differ in the bulk (every keypoint a little off) or in the tail (a few keypoints far off),
and OKS thresholds such as AP@0.75 react to the bulk. For the predictions of
:func:`~mmpose_rle.calibration.collect_predictions` (errors in units of the crop for a
top-down model, of the instance's size ``√(w·h)`` for a bottom-up one), the Euclidean error
of every visible keypoint ``‖e‖`` gives::

    error/q{p} = quantile_p(‖e‖),   p ∈ {50, 90}
"""

from typing import Dict, Sequence

import numpy as np

__all__ = ['error_quantiles']


def error_quantiles(
    predictions: Dict[str, np.ndarray], percents: Sequence[int] = (50, 90)
) -> Dict[str, float]:
    """``error/q{p}``: the ``p``-th percentile of the visible keypoints' Euclidean error
    (module docstring); empty when no keypoint is visible.

    Args:
        predictions (dict): ``errors`` ``(N, K, D)`` and ``visible`` ``(N, K)``.
        percents (Sequence[int]): The percentiles. Default: ``(50, 90)``.
    """
    norms = np.linalg.norm(predictions['errors'], axis=-1)[predictions['visible'] > 0]
    if norms.size == 0:
        return {}
    return {f'error/q{p}': float(np.percentile(norms, p)) for p in percents}
