"""σ ellipses: each keypoint's predicted uncertainty drawn over an image."""

from typing import Sequence, Union

import cv2
import numpy as np

__all__ = ['draw_sigma_ellipses']

Colour = Union[Sequence[int], np.ndarray]


def draw_sigma_ellipses(
    img: np.ndarray,
    keypoints: np.ndarray,
    sigmas: np.ndarray,
    scale: float = 1.0,
    color: Colour = (255, 255, 255),
    thickness: int = 1,
) -> np.ndarray:
    """Draw one axis-aligned ellipse per keypoint on a copy of ``img``.

    The semi-axes are ``k·σx`` and ``k·σy`` (the RLE heads predict one scale per
    coordinate); keypoints or σ that are not finite are skipped.

    Args:
        img (np.ndarray): ``(H, W, 3)`` image.
        keypoints (np.ndarray): ``(N, K, 2)`` or ``(K, 2)`` centres in pixels.
        sigmas (np.ndarray): Same shape: σx, σy in pixels.
        scale (float): Multiplier ``k`` of the semi-axes.
        color (tuple | np.ndarray): One colour ``(3,)`` for all ellipses, or one per
            keypoint ``(N·K, 3)``, in the image's channel order.
        thickness (int): Line thickness.

    Returns:
        np.ndarray: The image with the ellipses.
    """
    out = img.copy()
    kps = np.asarray(keypoints, dtype=np.float32).reshape(-1, 2)
    sig = np.asarray(sigmas, dtype=np.float32).reshape(-1, 2)
    if kps.shape != sig.shape:
        raise ValueError(f'keypoints {kps.shape} and sigmas {sig.shape} must match')
    colours = np.asarray(color, dtype=np.int64).reshape(-1, 3)
    if len(colours) == 1:
        colours = np.repeat(colours, len(kps), axis=0)
    if len(colours) != len(kps):
        raise ValueError(f'{len(colours)} colours for {len(kps)} keypoints')
    for (x, y), (sx, sy), colour in zip(kps, sig, colours):
        if not np.isfinite([x, y, sx, sy]).all():
            continue
        axes = (max(1, int(round(scale * sx))), max(1, int(round(scale * sy))))
        centre = (int(round(x)), int(round(y)))
        cv2.ellipse(out, centre, axes, 0, 0, 360, tuple(map(int, colour)), thickness, cv2.LINE_AA)
    return out
