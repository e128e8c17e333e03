r"""Fit a σ calibration by maximum likelihood of held-out errors.

Given absolute errors ``e`` and predicted RMS errors ``σ`` (same units; normalised units for
the head's map), the calibrated RMS is ``σ' = a σ^p`` per keypoint ``k`` and coordinate
``c`` (:class:`~mmpose_rle.models.utils.SigmaCalibration`), and ``(a, p)`` maximise the
likelihood of the errors under a Laplace (scale ``σ'/√2``) or a Gaussian (std ``σ'``):

* ``'temperature'`` (``p = 1``) has a closed form:
  ``a = √2 mean(|e|/σ)`` (Laplace) or ``a² = mean(e²/σ²)`` (Gaussian);
* ``'power'`` fits ``(log a, p)`` with ``p ∈ [0, 3]`` (monotone): the NLL
  ``u + √2 |e| e^{−u}`` (Laplace) or ``u + e² e^{−2u} / 2`` (Gaussian), with
  ``u = log a + p log σ``, is convex in ``(log a, p)``; L-BFGS-B solves it.

``share`` pools the data of several keypoints or axes into one map: ``'none'`` (a map per
keypoint and axis), ``'axis'`` (per keypoint), ``'all'`` (one map). :func:`cross_fit`
returns calibrated σ for every sample from maps fitted on the other folds (grouped by
image), so that metrics of the calibrated σ are computed on data the fit did not see.

Example:
    >>> rng = np.random.default_rng(0)
    >>> sigma = rng.uniform(0.01, 0.05, size=(4000, 3, 2))
    >>> errors = np.abs(rng.laplace(scale=2.5 * sigma / np.sqrt(2)))  # σ 2.5 times too small
    >>> log_scale, power = fit_calibration(errors, sigma, np.ones((4000, 3), bool))
    >>> bool(np.allclose(np.exp(log_scale), 2.5, rtol=0.05)), power.tolist()[0]
    (True, [1.0, 1.0])
"""

import math
from typing import Optional, Tuple

import numpy as np
from scipy import optimize

__all__ = ['MAPS', 'SHARES', 'fit_calibration', 'apply_calibration', 'cross_fit']

MAPS = ('temperature', 'power')
SHARES = ('none', 'axis', 'all')
_TINY = 1e-12


def _fit_one(e: np.ndarray, s: np.ndarray, family: str, kind: str) -> Tuple[float, float]:
    """``(log a, p)`` for 1-D errors and σ."""
    e, s = np.abs(e), np.maximum(s, _TINY)
    if len(e) == 0:
        return 0.0, 1.0
    ratio = e / s
    if family == 'laplace':
        log_a = math.log(max(math.sqrt(2) * ratio.mean(), _TINY))
    else:
        log_a = 0.5 * math.log(max((ratio**2).mean(), _TINY))
    if kind == 'temperature':
        return log_a, 1.0
    log_s = np.log(s)
    c = math.sqrt(2) * e if family == 'laplace' else e
    k = 1.0 if family == 'laplace' else 2.0

    def nll(theta: np.ndarray) -> Tuple[float, np.ndarray]:
        u = theta[0] + theta[1] * log_s
        w = c**k * np.exp(-k * u) / (1.0 if family == 'laplace' else 2.0)
        du = 1 - k * w
        return float(np.mean(u + w)), np.array([du.mean(), (du * log_s).mean()])

    result = optimize.minimize(
        nll, np.array([log_a, 1.0]), jac=True, method='L-BFGS-B', bounds=[(None, None), (0, 3)]
    )
    return float(result.x[0]), float(result.x[1])


def fit_calibration(
    errors: np.ndarray,
    sigmas: np.ndarray,
    visible: np.ndarray,
    family: str = 'laplace',
    kind: str = 'temperature',
    share: str = 'none',
) -> Tuple[np.ndarray, np.ndarray]:
    """Fit the map (module docstring).

    Args:
        errors (np.ndarray): ``(N, K, D)`` errors.
        sigmas (np.ndarray): ``(N, K, D)`` predicted σ, same units.
        visible (np.ndarray): ``(N, K)`` which keypoints count.
        family (str): ``'laplace'`` or ``'gaussian'``.
        kind (str): ``'temperature'`` or ``'power'``.
        share (str): ``'none'``, ``'axis'`` or ``'all'``.

    Returns:
        tuple: ``log_scale`` and ``power``, both ``(K, D)``.
    """
    if kind not in MAPS or share not in SHARES or family not in ('laplace', 'gaussian'):
        raise ValueError(
            f'kind must be in {MAPS}, share in {SHARES}, family laplace/gaussian; '
            f'got {kind!r}, {share!r}, {family!r}'
        )
    errors, sigmas = np.asarray(errors, float), np.asarray(sigmas, float)
    visible = np.asarray(visible, bool)
    _, num_joints, dim = errors.shape
    log_scale, power = np.zeros((num_joints, dim)), np.ones((num_joints, dim))
    groups = {
        'none': [([k], [c]) for k in range(num_joints) for c in range(dim)],
        'axis': [([k], list(range(dim))) for k in range(num_joints)],
        'all': [(list(range(num_joints)), list(range(dim)))],
    }[share]
    for ks, cs in groups:
        mask = visible[:, ks]
        e = np.concatenate([errors[:, k, c][mask[:, i]] for i, k in enumerate(ks) for c in cs])
        s = np.concatenate([sigmas[:, k, c][mask[:, i]] for i, k in enumerate(ks) for c in cs])
        a, p = _fit_one(e, s, family, kind)
        for k in ks:
            log_scale[k, cs], power[k, cs] = a, p
    return log_scale, power


def apply_calibration(sigmas: np.ndarray, log_scale: np.ndarray, power: np.ndarray) -> np.ndarray:
    """``exp(log_scale) · σ^power`` for ``(N, K, D)`` σ."""
    return np.exp(log_scale + power * np.log(np.maximum(sigmas, _TINY)))


def cross_fit(
    errors: np.ndarray,
    sigmas: np.ndarray,
    visible: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    groups: Optional[np.ndarray] = None,
    **fit_kwargs,
) -> np.ndarray:
    """Calibrated σ ``(N, K, D)`` of every sample from a map fitted on the other folds.

    Args:
        groups (np.ndarray, optional): ``(N,)`` a group per sample (e.g. the image), kept in
            one fold; every sample its own group when None.
        **fit_kwargs: ``family``, ``kind``, ``share`` of :func:`fit_calibration`.
    """
    n = len(errors)
    groups = np.arange(n) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    fold_of = dict(zip(unique, np.random.default_rng(seed).permutation(len(unique)) % folds))
    fold = np.array([fold_of[g] for g in groups])
    out = np.empty_like(np.asarray(sigmas, float))
    for f in range(folds):
        held, fit = fold == f, fold != f
        if not held.any():
            continue
        log_scale, power = fit_calibration(errors[fit], sigmas[fit], visible[fit], **fit_kwargs)
        out[held] = apply_calibration(sigmas[held], log_scale, power)
    return out
