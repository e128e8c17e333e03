r"""σ-aware smoothing of keypoint trajectories: Kalman filter and RTS smoother.

Each image coordinate of each keypoint is a constant-velocity model (state ``s = (p, v)``,
frame step ``Δ``)::

    s_t = F s_{t−1} + w_t,   F = [[1, Δ], [0, 1]],   w_t ~ N(0, q·[[Δ³/3, Δ²/2], [Δ²/2, Δ]])
    z_t = p_t + e_t,         e_t ~ N(0, σ_t²)

with the model's predicted σ of that frame as the measurement's standard deviation, so a
keypoint whose σ is huge barely moves the estimate and a missing one (σ or z not finite)
is skipped. The Kalman filter gives ``p(s_t | z_1..t)``, the Rauch–Tung–Striebel smoother
``p(s_t | z_1..T)``; the smoothed σ is that posterior's standard deviation of ``p_t``.
The process noise ``q`` (px²/frame³) of each keypoint is, unless given, the value of a
log-spaced grid that maximises the marginal likelihood ``Σ_t log N(z_t; p̂_t|t−1, S_t)``
of the keypoint's measurements (both coordinates).
"""

from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

__all__ = ['KalmanResult', 'SmoothedKeypoints', 'kalman_rts', 'smooth_keypoints']


class KalmanResult(NamedTuple):
    """Smoothed positions and the filter's evidence, per channel.

    Attributes:
        mean (np.ndarray): ``(T, C)`` smoothed positions ``E[p_t | z_1..T]``.
        std (np.ndarray): ``(T, C)`` their posterior standard deviations.
        log_likelihood (np.ndarray): ``(C,)`` marginal log-likelihood of the measurements.
    """

    mean: np.ndarray
    std: np.ndarray
    log_likelihood: np.ndarray


def _transition(q: np.ndarray, dt: float) -> Tuple[np.ndarray, np.ndarray]:
    f = np.array([[1.0, dt], [0.0, 1.0]])
    noise = np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    return f, q[:, None, None] * noise


def kalman_rts(
    z: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    m0: np.ndarray,
    p0: np.ndarray,
    dt: float = 1.0,
) -> KalmanResult:
    """Kalman filter and RTS smoother of independent constant-velocity channels.

    Args:
        z (np.ndarray): ``(T, C)`` measured positions; non-finite entries are missing.
        r (np.ndarray): ``(T, C)`` measurement variances ``σ_t²``; non-finite or
            non-positive entries mark the measurement missing.
        q (np.ndarray): ``(C,)`` process-noise spectral densities.
        m0 (np.ndarray): ``(C, 2)`` prior mean of ``(p_0, v_0)``.
        p0 (np.ndarray): ``(C, 2, 2)`` prior covariance of ``(p_0, v_0)``.
        dt (float): Frame step.

    Returns:
        KalmanResult: The smoothed positions, their standard deviations and the
        marginal log-likelihood of each channel.
    """
    z, r = np.asarray(z, np.float64), np.asarray(r, np.float64)
    steps, channels = z.shape
    if r.shape != z.shape:
        raise ValueError(f'z {z.shape} and r {r.shape} must have the same shape')
    f, noise = _transition(np.broadcast_to(np.asarray(q, np.float64), (channels,)), dt)
    valid = np.isfinite(z) & np.isfinite(r) & (r > 0)
    m, p = np.array(m0, np.float64), np.array(p0, np.float64)
    m_pred, p_pred = np.empty((steps, channels, 2)), np.empty((steps, channels, 2, 2))
    m_filt, p_filt = np.empty_like(m_pred), np.empty_like(p_pred)
    log_lik = np.zeros(channels)
    for t in range(steps):
        if t > 0:
            m, p = m @ f.T, f @ p @ f.T + noise
        m_pred[t], p_pred[t] = m, p
        ok = valid[t]
        s = p[:, 0, 0] + np.where(ok, r[t], 1.0)
        gain = p[:, :, 0] / s[:, None]
        innov = np.where(ok, z[t] - m[:, 0], 0.0)
        m = m + ok[:, None] * gain * innov[:, None]
        p = p - ok[:, None, None] * s[:, None, None] * gain[:, :, None] * gain[:, None, :]
        log_lik += np.where(ok, -0.5 * (np.log(2 * np.pi * s) + innov**2 / s), 0.0)
        m_filt[t], p_filt[t] = m, p
    means, covs = m_filt.copy(), p_filt.copy()
    for t in range(steps - 2, -1, -1):
        gain = p_filt[t] @ f.T @ np.linalg.inv(p_pred[t + 1])
        means[t] = m_filt[t] + (gain @ (means[t + 1] - m_pred[t + 1])[..., None])[..., 0]
        covs[t] = p_filt[t] + gain @ (covs[t + 1] - p_pred[t + 1]) @ gain.transpose(0, 2, 1)
    return KalmanResult(means[..., 0], np.sqrt(np.maximum(covs[..., 0, 0], 0.0)), log_lik)


def _prior(z: np.ndarray, r: np.ndarray, valid: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """A weak prior per channel: the first valid position and zero velocity, both with
    the spread of the whole track plus the median σ² as their variance."""
    first = z[np.argmax(valid, axis=0), np.arange(z.shape[1])]
    count = np.maximum(valid.sum(0), 1)
    mean = np.where(valid, z, 0.0).sum(0) / count
    spread = np.where(valid, (z - mean) ** 2, 0.0).sum(0) / count
    median_r = np.array([np.median(r[v, c]) if v.any() else 1.0 for c, v in enumerate(valid.T)])
    m0 = np.stack([np.where(valid.any(0), first, 0.0), np.zeros(z.shape[1])], axis=-1)
    p0 = np.zeros((z.shape[1], 2, 2))
    p0[:, 0, 0] = p0[:, 1, 1] = np.maximum(spread + median_r, 1e-6)
    return m0, p0


class SmoothedKeypoints(NamedTuple):
    """Output of :func:`smooth_keypoints`.

    Attributes:
        keypoints (np.ndarray): ``(T, ..., 2)`` smoothed coordinates (NaN for a keypoint
            never measured).
        sigmas (np.ndarray): ``(T, ..., 2)`` posterior standard deviations.
        process_noise (np.ndarray): ``(...)`` the ``q`` used per keypoint.
    """

    keypoints: np.ndarray
    sigmas: np.ndarray
    process_noise: np.ndarray


def smooth_keypoints(
    keypoints: np.ndarray,
    sigmas: np.ndarray,
    process_noise: Optional[float] = None,
    grid: Sequence[float] = tuple(np.logspace(-4, 2, 25)),
    dt: float = 1.0,
) -> SmoothedKeypoints:
    """RTS-smooth keypoint trajectories with each frame's σ² as measurement variance.

    Args:
        keypoints (np.ndarray): ``(T, ..., 2)`` per-frame coordinates (e.g. ``(T, K, 2)``
            or ``(T, N, K, 2)`` with a stable instance order); NaN marks a missing one.
        sigmas (np.ndarray): Same shape: the predicted σ per coordinate, same units.
        process_noise (float, optional): ``q`` for every keypoint; by default each
            keypoint's ``q`` maximises its marginal likelihood over ``grid × median σ²``.
        grid (Sequence[float]): Candidate ``q`` relative to the median σ².
        dt (float): Frame step.

    Returns:
        SmoothedKeypoints: Smoothed coordinates, their σ and the ``q`` used.
    """
    xy, sig = np.asarray(keypoints, np.float64), np.asarray(sigmas, np.float64)
    if xy.shape != sig.shape or xy.ndim < 2 or xy.shape[-1] != 2:
        raise ValueError(f'keypoints {xy.shape} and sigmas {sig.shape} must both be (T, ..., 2)')
    steps, shape = xy.shape[0], xy.shape[1:]
    z, r = xy.reshape(steps, -1), sig.reshape(steps, -1) ** 2
    valid = np.isfinite(z) & np.isfinite(r) & (r > 0)
    m0, p0 = _prior(z, r, valid)
    if process_noise is None:
        base = float(np.median(r[valid])) if valid.any() else 1.0
        candidates = base * np.asarray(grid, np.float64)
        tiled = kalman_rts(
            np.tile(z, len(candidates)),
            np.tile(r, len(candidates)),
            np.repeat(candidates, z.shape[1]),
            np.tile(m0, (len(candidates), 1)),
            np.tile(p0, (len(candidates), 1, 1)),
            dt,
        )
        per_keypoint = tiled.log_likelihood.reshape(len(candidates), -1, 2).sum(-1)
        q = np.repeat(candidates[np.argmax(per_keypoint, axis=0)], 2)
    else:
        if not process_noise > 0:
            raise ValueError(f'process_noise must be positive, got {process_noise}')
        q = np.full(z.shape[1], float(process_noise))
    result = kalman_rts(z, r, q, m0, p0, dt)
    never = ~valid.any(0)
    mean = np.where(never, np.nan, result.mean).reshape(xy.shape)
    std = np.where(never, np.nan, result.std).reshape(xy.shape)
    return SmoothedKeypoints(mean, std, q[::2].reshape(shape[:-1]))
