"""Run a top-down model over a data loader and keep what a σ calibration needs."""

from typing import Dict

import numpy as np
import torch
from torch import nn

__all__ = ['collect_predictions']


@torch.no_grad()
def collect_predictions(
    model: nn.Module, dataloader, keep_samples: bool = False
) -> Dict[str, np.ndarray]:
    """Errors, σ and scores of every instance, in normalised units of its crop.

    Normalised units are those of the head (``RegressionLabel``): image pixels divided by
    the crop's ``input_scale`` per axis, which is also what ``keypoint_sigmas`` (input
    pixels) divided by ``input_size`` gives.

    Returns:
        dict: ``errors`` and ``sigmas`` ``(N, K, D)`` (``sigmas`` absent when the model
        predicts no ``keypoint_sigmas``), ``scores`` and ``visible`` ``(N, K)``, ``groups``
        ``(N,)`` (the image of each instance, for cross-fitting by image) and ``scale``
        ``(N, D)`` (the crop size in image pixels); with ``keep_samples`` also ``samples``,
        the predicted data samples in the same order.
    """
    model.eval()
    out: Dict[str, list] = dict(errors=[], sigmas=[], scores=[], visible=[], groups=[], scale=[])
    samples = []
    for batch in dataloader:
        for sample in model.test_step(batch):
            if keep_samples:
                samples.append(sample)
            pred, gt = sample.pred_instances, sample.gt_instances
            scale = np.asarray(sample.metainfo['input_scale'], np.float64).reshape(-1, 1, 2)
            errors = (np.asarray(pred.keypoints, np.float64) - np.asarray(gt.keypoints)) / scale
            out['errors'].append(errors)
            out['scores'].append(np.asarray(pred.keypoint_scores, np.float64))
            out['visible'].append(np.asarray(gt.keypoints_visible).reshape(errors.shape[:2]) > 0)
            out['groups'] += [sample.metainfo.get('img_id', len(out['groups']))] * len(errors)
            out['scale'].append(scale[:, 0])
            if 'keypoint_sigmas' in pred:
                size = np.asarray(sample.metainfo['input_size'], np.float64)
                out['sigmas'].append(np.asarray(pred.keypoint_sigmas, np.float64) / size)
    result = {k: np.concatenate(v) for k, v in out.items() if v and k != 'groups'}
    result['groups'] = np.asarray(out['groups'])
    if keep_samples:
        result['samples'] = samples
    return result
