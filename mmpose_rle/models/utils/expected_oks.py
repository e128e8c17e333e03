r"""The expected OKS of a keypoint under its predicted error: a σ-based keypoint score.

COCO's keypoint similarity of keypoint ``k`` is ``OKS_k = exp(−d² / (2 s² κ_k²))`` with ``d``
the error, ``s²`` the object's area and ``κ_k = 2 σ_k^OKS`` the data set's per-keypoint
constant. If the error is Gaussian with RMS ``σ_x``, ``σ_y`` per axis, its expectation is::

    E[OKS_k] = (1 + σ_x² / v)^(−1/2) · (1 + σ_y² / v)^(−1/2),   v = s² κ_k²

— near 1 when the predicted error is small for the object, near 0 when it is large. (For a
Laplace error the expectation has no closed form; the Gaussian with the same RMS is used.)
The mean over an instance's keypoints is the instance's expected OKS, the score that ranks
instances for COCO AP if σ means what it says.
"""

from typing import Sequence

import numpy as np

__all__ = ['expected_oks', 'box_areas']


def expected_oks(sigmas: np.ndarray, areas: np.ndarray, oks_sigmas: Sequence[float]) -> np.ndarray:
    """``E[OKS_k]`` ``(N, K)`` (module docstring).

    Args:
        sigmas (np.ndarray): ``(N, K, 2)`` RMS error per coordinate, in the pixels of
            ``areas``.
        areas (np.ndarray): ``(N,)`` object areas ``s²``.
        oks_sigmas (Sequence[float]): ``(K,)`` the data set's OKS sigmas ``σ_k^OKS``.
    """
    v = np.asarray(areas, float)[:, None] * (2 * np.asarray(oks_sigmas, float))[None] ** 2
    ratio = np.asarray(sigmas, float) ** 2 / np.maximum(v, np.finfo(float).tiny)[..., None]
    return np.prod(1 / np.sqrt(1 + ratio), axis=-1)


def box_areas(bboxes: np.ndarray) -> np.ndarray:
    """``(N,)`` areas of ``(N, 4)`` ``x1, y1, x2, y2`` boxes."""
    boxes = np.asarray(bboxes, float).reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
