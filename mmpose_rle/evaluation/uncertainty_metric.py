"""An MMEngine metric for the uncertainty of a top-down model: ``UncertaintyMetric``.

Add it to a test or validation evaluator, ``dict(type='mmpose_rle.UncertaintyMetric')``
(``tools/test.py`` does so for the heads of the RLE family); it reports the metrics of
:func:`~mmpose_rle.evaluation.uncertainty_metrics` — coverage at 1/2/3σ with the nominal
values, ECE over quantiles, NLL, AUSE/AURG and Spearman ρ — for the predicted
``keypoint_sigmas`` against the errors of the visible keypoints, in image pixels. Models
without ``keypoint_sigmas`` give no numbers (and a warning).
"""

import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric

from mmpose_rle.models.utils import input_to_image_sigmas
from mmpose_rle.registry import METRICS

from .uncertainty import uncertainty_metrics

__all__ = ['UncertaintyMetric', 'errors_and_sigmas']


def errors_and_sigmas(data_sample: dict) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Signed errors, σ (image pixels) and visibility of one predicted data sample.

    ``keypoint_sigmas`` are in pixels of the model input; the crop maps them to the image
    (:func:`~mmpose_rle.models.utils.input_to_image_sigmas`).

    Returns:
        tuple: ``(N, K, D)`` errors and σ, ``(N, K)`` visibility; None without
        ``keypoint_sigmas``.
    """
    pred, gt = data_sample['pred_instances'], data_sample['gt_instances']
    if 'keypoint_sigmas' not in pred:
        return None
    sigmas = input_to_image_sigmas(
        pred['keypoint_sigmas'], data_sample['input_size'], data_sample['input_scale']
    )
    errors = np.asarray(pred['keypoints'], np.float64) - np.asarray(gt['keypoints'], np.float64)
    visible = np.asarray(gt['keypoints_visible']).reshape(errors.shape[:2]) > 0
    return errors, sigmas, visible


@METRICS.register_module()
class UncertaintyMetric(BaseMetric):
    """Calibration and ranking quality of the predicted σ (module docstring).

    Args:
        family (str): Error model, ``'laplace'`` (RLE's default Q) or ``'gaussian'``.
        collect_device (str): As MMEngine's ``BaseMetric``.
        prefix (str, optional): Prefix of the metric names. Default: ``'sigma'``.
    """

    default_prefix = 'sigma'

    def __init__(
        self, family: str = 'laplace', collect_device: str = 'cpu', prefix: Optional[str] = None
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.family = family

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            found = errors_and_sigmas(sample)
            if found is not None:
                errors, sigmas, visible = found
                self.results.append(dict(errors=errors[visible], sigmas=sigmas[visible]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            warnings.warn('UncertaintyMetric: the model predicted no keypoint_sigmas', stacklevel=2)
            return {}
        errors = np.concatenate([r['errors'] for r in results])
        sigmas = np.concatenate([r['sigmas'] for r in results])
        return uncertainty_metrics(errors, sigmas, self.family)
