"""Inference API: keypoints, scores and σ per keypoint in image pixels.

MMPose's :func:`mmpose.apis.inference_topdown` runs the model; this module adds the
RLE uncertainty: :class:`~mmpose_rle.models.RLEHead` reports ``keypoint_sigmas`` in
pixels of the model input, and :func:`sigmas_in_image` maps them to the image through
the crop's scale (``σ_img = σ_input / input_size · input_scale``). The model predicts as its
``test_cfg`` says, and its σ goes through the calibration map of that mode (flip test or
one view) when the checkpoint holds one.
"""

from dataclasses import dataclass
from typing import List, Optional, Union

import numpy as np
from mmpose.apis import inference_topdown, init_model
from mmpose.structures import PoseDataSample
from torch import nn

import mmpose_rle  # noqa: F401  (registers the parts)

__all__ = ['PoseResult', 'init_rle_model', 'inference_rle', 'sigmas_in_image']


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


def sigmas_in_image(sample: PoseDataSample) -> np.ndarray:
    """``(N, K, 2)`` image-pixel σ of a predicted data sample of a top-down model."""
    sigmas = np.asarray(sample.pred_instances.keypoint_sigmas, dtype=np.float32)
    meta = sample.metainfo
    scale = np.asarray(meta['input_scale'], dtype=np.float32).reshape(-1, 1, 2)
    size = np.asarray(meta['input_size'], dtype=np.float32)
    return sigmas / size * scale


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
    if not samples or 'keypoint_sigmas' not in samples[0].pred_instances:
        raise ValueError(
            'inference_rle needs a model whose head reports keypoint_sigmas (mmpose_rle.RLEHead)'
        )
    return PoseResult(
        keypoints=np.concatenate([s.pred_instances.keypoints for s in samples]),
        scores=np.concatenate([s.pred_instances.keypoint_scores for s in samples]),
        sigmas=np.concatenate([sigmas_in_image(s) for s in samples]),
        bboxes=np.concatenate([s.pred_instances.bboxes for s in samples]),
    )
