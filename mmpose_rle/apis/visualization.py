"""Draw predictions with σ ellipses: each keypoint's predicted uncertainty.

The skeleton and keypoints are drawn by MMPose's ``PoseLocalVisualizer``; on top, each
keypoint gets an axis-aligned ellipse with semi-axes ``k·σx`` and ``k·σy`` (the RLE head
predicts one scale per coordinate), ``k = 1`` by default. The ellipse shows the predicted
scale, not a calibrated interval.
"""

from typing import Optional, Sequence

import cv2
import numpy as np
from mmpose.visualization import PoseLocalVisualizer

__all__ = ['draw_sigma_ellipses', 'draw_pose_with_sigmas']


def draw_sigma_ellipses(
    img: np.ndarray,
    keypoints: np.ndarray,
    sigmas: np.ndarray,
    scale: float = 1.0,
    color: Sequence[int] = (255, 255, 255),
    thickness: int = 1,
) -> np.ndarray:
    """Draw one ellipse per keypoint on a copy of ``img``.

    Args:
        img (np.ndarray): ``(H, W, 3)`` image.
        keypoints (np.ndarray): ``(N, K, 2)`` or ``(K, 2)`` centres in pixels.
        sigmas (np.ndarray): Same shape: semi-axes σx, σy in pixels.
        scale (float): Multiplier ``k`` of the semi-axes.
        color (tuple): Ellipse colour in the image's channel order.
        thickness (int): Line thickness.

    Returns:
        np.ndarray: The image with the ellipses.
    """
    out = img.copy()
    kps = np.asarray(keypoints, dtype=np.float32).reshape(-1, 2)
    sig = np.asarray(sigmas, dtype=np.float32).reshape(-1, 2)
    if kps.shape != sig.shape:
        raise ValueError(f'keypoints {kps.shape} and sigmas {sig.shape} must match')
    for (x, y), (sx, sy) in zip(kps, sig):
        if not np.isfinite([x, y, sx, sy]).all():
            continue
        axes = (max(1, int(round(scale * sx))), max(1, int(round(scale * sy))))
        cv2.ellipse(
            out,
            (int(round(x)), int(round(y))),
            axes,
            0,
            0,
            360,
            tuple(color),
            thickness,
            cv2.LINE_AA,
        )
    return out


def draw_pose_with_sigmas(
    img_rgb: np.ndarray,
    sample,
    sigmas: np.ndarray,
    dataset_meta: dict,
    kpt_thr: float = 0.0,
    scale: float = 1.0,
    radius: Optional[int] = None,
) -> np.ndarray:
    """Skeleton and keypoints (MMPose's visualizer) plus σ ellipses, RGB in and out.

    Args:
        img_rgb (np.ndarray): ``(H, W, 3)`` RGB image.
        sample (PoseDataSample): A predicted sample (``pred_instances``).
        sigmas (np.ndarray): ``(N, K, 2)`` σ in image pixels
            (:func:`mmpose_rle.apis.sigmas_in_image`).
        dataset_meta (dict): The model's ``dataset_meta`` (skeleton, colours).
        kpt_thr (float): Keypoints with lower scores are not drawn.
        scale (float): Multiplier of the ellipse semi-axes.
        radius (int, optional): Keypoint radius; scaled to the image when ``None``.
    """
    radius = radius or max(1, round(max(img_rgb.shape[:2]) / 160))
    vis = PoseLocalVisualizer(radius=radius, line_width=max(1, radius // 2))
    vis.set_dataset_meta(dataset_meta)
    drawn = vis.add_datasample(
        'prediction', img_rgb, sample, draw_gt=False, draw_bbox=True, kpt_thr=kpt_thr, show=False
    )
    return draw_sigma_ellipses(drawn, sample.pred_instances.keypoints, sigmas, scale=scale)
