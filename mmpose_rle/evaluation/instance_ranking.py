r"""How well instance scores rank instances: their true OKS and the AP of a perfect ranking.

COCO AP rewards two things at once: accurate keypoints (a high OKS) and scores that put the
accurate instances first. To tell them apart, :func:`instance_oks` gives each instance its
true keypoint similarity::

    OKS_n = Σ_k v_nk · exp(−d_nk² / (2 s_n² κ_k²)) / Σ_k v_nk,   κ_k = 2 σ_k^OKS

(``d`` the error in image pixels, ``s²`` the object's area, ``v`` the visibility), and
:func:`score_ranking` the Spearman ρ between an instance score and it. Scoring every keypoint
of an instance with its true ``OKS_n`` (:func:`oracle_keypoint_scores`) gives the AP of the
best possible ranking of the same predictions: the gap between a model's AP and that bound is
what a better score can win, the rest is accuracy.
"""

import numpy as np
from scipy import stats

__all__ = ['instance_oks', 'score_ranking', 'oracle_keypoint_scores']


def instance_oks(
    errors: np.ndarray, areas: np.ndarray, oks_sigmas: np.ndarray, visible: np.ndarray
) -> np.ndarray:
    """True OKS ``(N,)`` of each instance (module docstring).

    Args:
        errors (np.ndarray): ``(N, K, D)`` prediction minus label in image pixels.
        areas (np.ndarray): ``(N,)`` object areas ``s²`` in square image pixels.
        oks_sigmas (np.ndarray): ``(K,)`` the data set's OKS sigmas ``σ^OKS``.
        visible (np.ndarray): ``(N, K)`` which keypoints are labelled.

    Returns:
        np.ndarray: ``(N,)``; NaN for an instance without a visible keypoint.
    """
    errors, visible = np.asarray(errors, float), np.asarray(visible, bool)
    if errors.shape[:2] != visible.shape or len(areas) != len(errors):
        raise ValueError(
            f'instance_oks: errors {errors.shape}, visible {visible.shape} and areas '
            f'{np.shape(areas)} do not describe the same (N, K) instances'
        )
    kappa2 = (2 * np.asarray(oks_sigmas, float)) ** 2
    scale = 2 * np.asarray(areas, float)[:, None] * kappa2[None]
    per_keypoint = np.exp(-(errors**2).sum(-1) / np.maximum(scale, np.finfo(float).tiny))
    count = visible.sum(1)
    total = np.where(visible, per_keypoint, 0.0).sum(1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def score_ranking(scores: np.ndarray, oks: np.ndarray) -> float:
    """Spearman ρ between instance scores ``(N,)`` and true OKS ``(N,)`` (NaN OKS left out):
    1 when the scores order the instances exactly as their accuracy does."""
    scores, oks = np.asarray(scores, float), np.asarray(oks, float)
    keep = np.isfinite(oks) & np.isfinite(scores)
    if keep.sum() < 3:
        return float('nan')
    return float(stats.spearmanr(scores[keep], oks[keep]).statistic)


def oracle_keypoint_scores(oks: np.ndarray, num_keypoints: int) -> np.ndarray:
    """``(N, K)`` keypoint scores all equal to each instance's true OKS (0 where it is
    NaN): under ``CocoMetric``'s ``score_mode`` ``'bbox_keypoint'`` (its default, with equal
    box scores) and ``'keypoint'`` the instances then rank by OKS (those below
    ``keypoint_score_thr`` tie last)."""
    oks = np.nan_to_num(np.asarray(oks, float), nan=0.0)
    return np.repeat(oks[:, None], num_keypoints, axis=1)
