"""Inference API: keypoints, scores and σ per keypoint in image pixels.

MMPose's :func:`mmpose.apis.inference_topdown` runs the model on given boxes of one image;
the heads of :mod:`mmpose_rle` report ``keypoint_sigmas_image``, σ in image pixels. The
model predicts as its ``test_cfg`` says, and its σ goes through the calibration map of that
mode (flip test or one view) when the checkpoint holds one. For folders, videos, detectors
and files, use :class:`~mmpose_rle.apis.SigmaPoseInferencer`.
"""

from dataclasses import dataclass
from typing import List, Optional, Union

import numpy as np
from mmpose.apis import inference_topdown, init_model
from mmpose.structures import PoseDataSample
from torch import nn

import mmpose_rle  # noqa: F401  (registers the parts)

__all__ = ['PoseResult', 'init_rle_model', 'inference_rle']


@dataclass
class PoseResult:
    """Predictions for the instances of one image.

    Attributes:
        keypoints (np.ndarray): ``(N, K, 2)`` coordinates in image pixels.
        scores (np.ndarray): ``(N, K)`` confidences ``1 − mean σ̂`` (σ̂ normalised).
        sigmas (np.ndarray): ``(N, K, 2)`` predicted scale σ per coordinate, image pixels.
        bboxes (np.ndarray): ``(N, 4)`` the boxes (x1, y1, x2, y2) the model saw.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    sigmas: np.ndarray
    bboxes: np.ndarray


def init_rle_model(config: str, checkpoint: Optional[str] = None, device: str = 'cpu') -> nn.Module:
    """Build a model from a config and load a checkpoint (MMPose's ``init_model``)."""
    return init_model(config, checkpoint, device=device)


def inference_rle(
    model: nn.Module, img: Union[str, np.ndarray], bboxes: Optional[np.ndarray] = None
) -> PoseResult:
    """Predict keypoints, scores and σ for the boxes of one image.

    Args:
        model (nn.Module): A top-down model with an RLE head.
        img (str | np.ndarray): Image path or BGR array.
        bboxes (np.ndarray, optional): ``(N, 4)`` boxes ``(x1, y1, x2, y2)``; the whole
            image when ``None``.

    Returns:
        PoseResult: The predictions of all boxes.
    """
    samples: List[PoseDataSample] = inference_topdown(model, img, bboxes, bbox_format='xyxy')
    if not samples or 'keypoint_sigmas_image' not in samples[0].pred_instances:
        raise ValueError(
            'inference_rle needs a model whose head reports keypoint_sigmas (mmpose_rle.RLEHead)'
        )
    return PoseResult(
        keypoints=np.concatenate([s.pred_instances.keypoints for s in samples]),
        scores=np.concatenate([s.pred_instances.keypoint_scores for s in samples]),
        sigmas=np.concatenate([s.pred_instances.keypoint_sigmas_image for s in samples]),
        bboxes=np.concatenate([s.pred_instances.bboxes for s in samples]),
    )
