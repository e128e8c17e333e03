r"""How well a predicted σ describes the errors it comes with.

Every function takes absolute errors ``e`` and predicted σ of the same shape; σ is the
predicted **RMS error** of a coordinate (``keypoint_sigmas``), and the error model is the
one the RLE loss assumes, a Laplace (scale ``b = σ/√2``) or a Gaussian (standard deviation
``σ``) per coordinate:

* :func:`nominal_coverage` — ``P(|e| ≤ kσ)``: ``1 − exp(−√2 k)`` (Laplace: 0.757, 0.941,
  0.986 at k = 1, 2, 3) or ``erf(k/√2)`` (Gaussian: 0.683, 0.954, 0.997);
* :func:`coverage` — the observed share of ``|e| ≤ kσ``;
* :func:`calibration_error` — the expected calibration error over quantiles: for central
  levels ``p = 0.1 … 0.9`` the half-width ``w_p`` of the predicted interval (Laplace
  ``−b log(1 − p)``, Gaussian ``σ Φ⁻¹((1 + p)/2)``), the observed share ``o_p`` of
  ``|e| ≤ w_p`` and ``ECE = mean_p |o_p − p|``; ``(p, o_p)`` is the reliability diagram;
* :func:`negative_log_likelihood` — the mean NLL of the errors under the predicted
  distribution (Laplace ``log(2b) + |e|/b``, Gaussian ``log(√(2π) σ) + e²/(2σ²)``), per
  coordinate, in the units given;
* :func:`sparsification` — drop the keypoints with the largest predicted uncertainty first
  (radial ``√(σx² + σy²)``) and follow the mean Euclidean error of the rest, against the
  oracle that drops the largest errors first; both curves are divided by the mean error
  of all keypoints. ``AUSE`` is the area between them over the dropped fraction (0: σ ranks
  the errors perfectly); ``AURG`` the area between a random order (flat at 1) and σ's;
* :func:`spearman` — the rank correlation between σ and the error, per keypoint;
* :func:`rms_ratio` — ``sqrt(mean(e² / σ²))``, 1 when σ is the RMS error it claims to be,
  whatever the error's shape (coverage and ECE also depend on the shape).

:func:`uncertainty_metrics` returns them all in a flat dict.

Example:
    >>> rng = np.random.default_rng(0)
    >>> sigma = rng.uniform(1, 5, size=(20000, 2))
    >>> errors = np.abs(rng.laplace(scale=sigma / np.sqrt(2)))
    >>> round(coverage(errors, sigma, 1.0), 2), round(nominal_coverage(1.0, 'laplace'), 2)
    (0.76, 0.76)
"""

import math
from typing import Dict, Sequence

import numpy as np
from scipy import special, stats

__all__ = [
    'FAMILIES',
    'nominal_coverage',
    'coverage',
    'reliability',
    'calibration_error',
    'negative_log_likelihood',
    'sparsification',
    'spearman',
    'rms_ratio',
    'uncertainty_metrics',
]

FAMILIES = ('laplace', 'gaussian')
LEVELS = np.round(np.arange(0.1, 0.95, 0.1), 2)


def _check(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f'family must be one of {FAMILIES}, got {family!r}')


def nominal_coverage(k: float, family: str = 'laplace') -> float:
    """``P(|e| ≤ kσ)`` for an error of RMS ``σ``."""
    _check(family)
    return 1 - math.exp(-math.sqrt(2) * k) if family == 'laplace' else math.erf(k / math.sqrt(2))


def coverage(errors: np.ndarray, sigmas: np.ndarray, k: float) -> float:
    """Observed share of ``|e| ≤ kσ``."""
    return float(np.mean(np.abs(errors) <= k * sigmas))


def _half_width(sigmas: np.ndarray, level: float, family: str) -> np.ndarray:
    if family == 'laplace':
        return -sigmas / math.sqrt(2) * math.log(1 - level)
    return sigmas * special.ndtri((1 + level) / 2)


def reliability(
    errors: np.ndarray, sigmas: np.ndarray, family: str = 'laplace', levels=LEVELS
) -> Dict[str, np.ndarray]:
    """The reliability diagram: nominal ``levels`` and the observed coverage of each."""
    _check(family)
    observed = [np.mean(np.abs(errors) <= _half_width(sigmas, p, family)) for p in levels]
    return dict(nominal=np.asarray(levels, dtype=float), observed=np.asarray(observed))


def calibration_error(
    errors: np.ndarray, sigmas: np.ndarray, family: str = 'laplace', levels=LEVELS
) -> float:
    """Expected calibration error over the quantile ``levels`` (module docstring)."""
    r = reliability(errors, sigmas, family, levels)
    return float(np.mean(np.abs(r['observed'] - r['nominal'])))


def negative_log_likelihood(
    errors: np.ndarray, sigmas: np.ndarray, family: str = 'laplace'
) -> float:
    """Mean NLL per coordinate of ``errors`` under the predicted distribution."""
    _check(family)
    e, s = np.abs(errors), np.maximum(sigmas, np.finfo(float).tiny)
    if family == 'laplace':
        b = s / math.sqrt(2)
        return float(np.mean(np.log(2 * b) + e / b))
    return float(np.mean(np.log(math.sqrt(2 * math.pi) * s) + e**2 / (2 * s**2)))


def sparsification(
    errors: np.ndarray, sigmas: np.ndarray, num_fractions: int = 50
) -> Dict[str, np.ndarray]:
    """Sparsification curves and their areas (module docstring).

    Args:
        errors (np.ndarray): ``(M, D)`` signed or absolute errors per keypoint.
        sigmas (np.ndarray): ``(M, D)`` predicted σ.
        num_fractions (int): Fractions ``0, 1/n, …, (n − 1)/n`` are dropped.

    Returns:
        dict: ``fraction``, ``by_sigma`` and ``oracle`` (normalised mean errors) and the
        scalars ``ause`` and ``aurg``.
    """
    radial_error = np.linalg.norm(np.asarray(errors, float).reshape(len(errors), -1), axis=1)
    radial_sigma = np.linalg.norm(np.asarray(sigmas, float).reshape(len(sigmas), -1), axis=1)
    n = len(radial_error)
    fractions = np.arange(num_fractions) / num_fractions
    full = radial_error.mean()

    def curve(order: np.ndarray) -> np.ndarray:  # order: most uncertain first
        kept_sorted = radial_error[order][::-1]  # least uncertain first
        sums = np.cumsum(kept_sorted)
        keep = np.maximum(1, np.round((1 - fractions) * n).astype(int))
        return sums[keep - 1] / keep / full

    by_sigma = curve(np.argsort(-radial_sigma, kind='stable'))
    oracle = curve(np.argsort(-radial_error, kind='stable'))
    step = 1 / num_fractions
    return dict(
        fraction=fractions,
        by_sigma=by_sigma,
        oracle=oracle,
        ause=float(np.sum(by_sigma - oracle) * step),
        aurg=float(np.sum(1 - by_sigma) * step),
    )


def spearman(errors: np.ndarray, sigmas: np.ndarray) -> float:
    """Spearman ρ between the radial σ and the radial error of each keypoint."""
    e = np.linalg.norm(np.asarray(errors, float).reshape(len(errors), -1), axis=1)
    s = np.linalg.norm(np.asarray(sigmas, float).reshape(len(sigmas), -1), axis=1)
    return float(stats.spearmanr(s, e).statistic)


def rms_ratio(errors: np.ndarray, sigmas: np.ndarray) -> float:
    """``sqrt(mean(e² / σ²))`` over every coordinate: 1 for a σ of the right RMS, below 1
    for a σ too wide, above 1 for one too narrow."""
    e, s = np.asarray(errors, float), np.maximum(np.asarray(sigmas, float), np.finfo(float).tiny)
    return float(np.sqrt(np.mean((e / s) ** 2)))


def uncertainty_metrics(
    errors: np.ndarray,
    sigmas: np.ndarray,
    family: str = 'laplace',
    ks: Sequence[float] = (1, 2, 3),
) -> Dict[str, float]:
    """All the metrics above for ``(M, D)`` errors and σ of ``M`` visible keypoints.

    Returns:
        dict: ``within_{k}sigma`` and ``nominal_{k}sigma`` for each ``k``, ``ece``,
        ``nll``, ``ause``, ``aurg``, ``sigma_error_spearman`` and ``rms_ratio``.
    """
    out: Dict[str, float] = {}
    for k in ks:
        out[f'within_{k}sigma'] = coverage(errors, sigmas, k)
        out[f'nominal_{k}sigma'] = nominal_coverage(k, family)
    out['ece'] = calibration_error(errors, sigmas, family)
    out['nll'] = negative_log_likelihood(errors, sigmas, family)
    sparse = sparsification(errors, sigmas)
    out['ause'], out['aurg'] = sparse['ause'], sparse['aurg']
    out['sigma_error_spearman'] = spearman(errors, sigmas)
    out['rms_ratio'] = rms_ratio(errors, sigmas)
    return out
