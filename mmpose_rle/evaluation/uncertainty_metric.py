r"""An MMEngine metric for the uncertainty of a pose model: ``UncertaintyMetric``.

Add it to a test or validation evaluator, ``dict(type='mmpose_rle.UncertaintyMetric')``
(``tools/test.py`` does so for the heads of the RLE family); it reports the metrics of
:func:`~mmpose_rle.evaluation.uncertainty_metrics` — coverage at 1/2/3σ with the nominal
values, ECE over quantiles, NLL, AUSE/AURG and Spearman ρ — for the predicted σ against the
errors of the visible keypoints, in image pixels::

    e_nk = μ̂_{p(n),k} − x_{g(n),k}    (image pixels),    σ_nk = σ^img_{p(n),k}

over the pairs ``n = (p, g)`` of prediction and ground truth of each sample
(:func:`~mmpose_rle.evaluation.instance_pairs`):

* **top-down** samples hold one prediction per ground-truth instance, paired in order; σ
  is ``keypoint_sigmas_image``, or ``keypoint_sigmas`` (input pixels) mapped through the crop
  (:func:`~mmpose_rle.models.utils.input_to_image_sigmas`);
* **bottom-up** samples (one image, a one-stage model's predictions in their own order)
  pair each labelled ground-truth instance with a prediction by box IoU
  (:func:`~mmpose_rle.evaluation.match_instances`); σ is ``keypoint_sigmas_image``, the
  ground-truth keypoints are in image pixels (MMPose's ``BottomupResize`` leaves them so).
  Ground truth left without a prediction is missing, not an error: on bottom-up data the
  metric adds ``missing``, the share of labelled ground-truth instances left unpaired (the
  only number, with a warning, when no visible keypoint was paired at all).

Models without ``keypoint_sigmas`` give no numbers (and a warning).
"""

import warnings
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric

from mmpose_rle.models.utils import input_to_image_sigmas
from mmpose_rle.registry import METRICS

from .instance_matching import DATA_MODES, InstancePairs, instance_pairs, is_bottomup
from .uncertainty import uncertainty_metrics

__all__ = ['UncertaintyMetric', 'errors_and_sigmas', 'image_sigmas']


def image_sigmas(data_sample: Mapping) -> Optional[np.ndarray]:
    """σ ``(P, K, 2)`` in image pixels of every predicted instance of a data sample:
    ``keypoint_sigmas_image`` when the head gives it, else ``keypoint_sigmas`` (input
    pixels) mapped through the crop (``input_size``, ``input_scale``); None without
    ``keypoint_sigmas``."""
    pred = data_sample['pred_instances']
    if 'keypoint_sigmas' not in pred:
        return None
    if 'keypoint_sigmas_image' in pred:
        return np.asarray(pred['keypoint_sigmas_image'], np.float64)
    return input_to_image_sigmas(
        pred['keypoint_sigmas'], data_sample['input_size'], data_sample['input_scale']
    )


def _pairs(
    data_sample: Mapping, data_mode: Optional[str], min_iou: float
) -> Tuple[InstancePairs, bool]:
    """The sample's pairs (:func:`~mmpose_rle.evaluation.instance_pairs`) and whether they
    were matched (bottom-up)."""
    if data_mode not in (None, *DATA_MODES):
        raise ValueError(f'data_mode must be None or one of {DATA_MODES}, got {data_mode!r}')
    pred, gt = data_sample['pred_instances'], data_sample['gt_instances']
    bottomup = data_mode == 'bottomup' or (data_mode is None and is_bottomup(pred, gt))
    return instance_pairs(pred, gt, 'bottomup' if bottomup else 'topdown', min_iou), bottomup


def _paired_errors(
    data_sample: Mapping, sigmas: np.ndarray, pairs: InstancePairs
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Errors, σ and visibility of ``pairs`` (:func:`errors_and_sigmas`)."""
    pred, gt = data_sample['pred_instances'], data_sample['gt_instances']
    labels = np.asarray(gt['keypoints'], np.float64)
    errors = np.asarray(pred['keypoints'], np.float64)[pairs.pred] - labels[pairs.gt]
    visible = np.asarray(gt['keypoints_visible']).reshape(labels.shape[:2]) > 0
    return errors, sigmas[pairs.pred], visible[pairs.gt]


def errors_and_sigmas(
    data_sample: Mapping, data_mode: Optional[str] = None, min_iou: float = 0.5
) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Signed errors, σ (image pixels) and visibility of the paired instances of one
    predicted data sample (module docstring).

    Args:
        data_sample (Mapping): A predicted ``PoseDataSample`` as a dict (or the sample).
        data_mode (str, optional): ``'topdown'``, ``'bottomup'`` or None (told from the
            sample, :func:`~mmpose_rle.evaluation.is_bottomup`). Default: None.
        min_iou (float): Least box IoU of a bottom-up pair. Default: 0.5.

    Returns:
        tuple: ``(M, K, D)`` errors and σ, ``(M, K)`` visibility of the ``M`` pairs; None
        without ``keypoint_sigmas``.
    """
    sigmas = image_sigmas(data_sample)
    if sigmas is None:
        return None
    return _paired_errors(data_sample, sigmas, _pairs(data_sample, data_mode, min_iou)[0])


@METRICS.register_module()
class UncertaintyMetric(BaseMetric):
    """Calibration and ranking quality of the predicted σ (module docstring).

    Args:
        family (str): Error model, ``'laplace'`` (RLE's default Q) or ``'gaussian'``.
        data_mode (str, optional): ``'topdown'``, ``'bottomup'``, or None to tell each
            sample's (:func:`~mmpose_rle.evaluation.is_bottomup`). Default: None.
        min_iou (float): Least box IoU of a bottom-up pair. Default: 0.5.
        collect_device (str): As MMEngine's ``BaseMetric``.
        prefix (str, optional): Prefix of the metric names. Default: ``'sigma'``.
    """

    default_prefix = 'sigma'

    def __init__(
        self,
        family: str = 'laplace',
        data_mode: Optional[str] = None,
        min_iou: float = 0.5,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if data_mode not in (None, *DATA_MODES):
            raise ValueError(f'data_mode must be None or one of {DATA_MODES}, got {data_mode!r}')
        self.family, self.data_mode, self.min_iou = family, data_mode, min_iou

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            sigmas = image_sigmas(sample)
            if sigmas is None:
                continue
            pairs, matched = _pairs(sample, self.data_mode, self.min_iou)
            errors, sigmas, visible = _paired_errors(sample, sigmas, pairs)
            result = dict(errors=errors[visible], sigmas=sigmas[visible])
            if matched:
                result.update(paired=len(pairs.gt), missing=len(pairs.missing))
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            warnings.warn('UncertaintyMetric: the model predicted no keypoint_sigmas', stacklevel=2)
            return {}
        errors = np.concatenate([r['errors'] for r in results])
        sigmas = np.concatenate([r['sigmas'] for r in results])
        if len(errors):
            metrics = uncertainty_metrics(errors, sigmas, self.family)
        else:
            warnings.warn(
                'UncertaintyMetric: no visible keypoint of a labelled instance was paired with '
                'a prediction (bottom-up pairs need a box IoU of at least min_iou); only '
                '`missing` is reported',
                stacklevel=2,
            )
            metrics = {}
        matched = [r for r in results if 'missing' in r]
        if matched:
            missing = sum(r['missing'] for r in matched)
            metrics['missing'] = missing / max(missing + sum(r['paired'] for r in matched), 1)
        return metrics
