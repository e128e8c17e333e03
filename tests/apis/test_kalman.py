"""The RTS smoother against the joint Gaussian posterior, and σ as measurement noise."""

import numpy as np
import pytest

from mmpose_rle.apis import kalman_rts, smooth_keypoints


def dense_posterior(z, r, q, m0, p0, dt=1.0):
    """Posterior of the stacked states of one channel by one linear solve (no recursion)."""
    steps = len(z)
    f = np.array([[1.0, dt], [0.0, 1.0]])
    noise = q * np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    # residuals e = A x - b: x0 - m0, x_t - F x_{t-1}; e ~ N(0, blockdiag(P0, Q, ...))
    a = np.zeros((2 * steps, 2 * steps))
    b = np.zeros(2 * steps)
    weights = np.zeros((2 * steps, 2 * steps))
    a[:2, :2] = np.eye(2)
    b[:2] = m0
    weights[:2, :2] = np.linalg.inv(p0)
    for t in range(1, steps):
        a[2 * t : 2 * t + 2, 2 * t : 2 * t + 2] = np.eye(2)
        a[2 * t : 2 * t + 2, 2 * t - 2 : 2 * t] = -f
        weights[2 * t : 2 * t + 2, 2 * t : 2 * t + 2] = np.linalg.inv(noise)
    precision = a.T @ weights @ a
    rhs = a.T @ weights @ b
    for t in range(steps):
        if np.isfinite(z[t]) and np.isfinite(r[t]):
            precision[2 * t, 2 * t] += 1 / r[t]
            rhs[2 * t] += z[t] / r[t]
    cov = np.linalg.inv(precision)
    mean = cov @ rhs
    return mean[::2], np.sqrt(np.diag(cov)[::2])


def test_rts_equals_the_dense_posterior_with_missing_and_noisy_frames():
    rng = np.random.default_rng(0)
    steps, channels = 25, 3
    z = np.cumsum(rng.normal(size=(steps, channels)), axis=0)
    r = rng.uniform(0.1, 4.0, size=(steps, channels))
    z[[3, 10, 11], 0] = np.nan  # missing measurements
    r[7, 1] = np.inf
    q = np.array([0.05, 0.5, 3.0])
    m0 = rng.normal(size=(channels, 2))
    p0 = np.stack([np.diag(rng.uniform(1, 5, 2)) for _ in range(channels)])
    out = kalman_rts(z, r, q, m0, p0, dt=0.7)
    for c in range(channels):
        mean, std = dense_posterior(z[:, c], r[:, c], q[c], m0[c], p0[c], dt=0.7)
        np.testing.assert_allclose(out.mean[:, c], mean, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(out.std[:, c], std, rtol=1e-7)


def test_a_frame_with_a_huge_sigma_is_effectively_skipped():
    t = np.arange(60, dtype=np.float64)
    truth = np.stack([2.0 * t, 100 - 0.5 * t], axis=-1)[:, None]  # (T, 1, 2), constant speed
    rng = np.random.default_rng(1)
    sigmas = np.full_like(truth, 1.0)
    measured = truth + rng.normal(size=truth.shape)
    measured[30] += 80.0  # a gross error ...
    flagged = sigmas.copy()
    flagged[30] = 1e4  # ... that σ flags
    with_flag = smooth_keypoints(measured, flagged, process_noise=0.01)
    without = smooth_keypoints(measured, sigmas, process_noise=0.01)
    assert np.abs(with_flag.keypoints[30] - truth[30]).max() < 2.0
    assert np.abs(without.keypoints[30] - truth[30]).max() > 5.0
    assert (with_flag.sigmas[30] > with_flag.sigmas[29]).all()  # less certain where skipped


def test_the_likelihood_picks_a_process_noise_near_the_true_one():
    rng = np.random.default_rng(2)
    steps, q_true = 400, 0.5
    velocity = np.cumsum(rng.normal(scale=np.sqrt(q_true), size=(steps, 4, 2)), axis=0)
    truth = np.cumsum(velocity, axis=0)
    sigmas = np.full_like(truth, 2.0)
    out = smooth_keypoints(truth + rng.normal(size=truth.shape) * sigmas, sigmas)
    assert out.process_noise.shape == (4,)
    assert np.all((out.process_noise > q_true / 4) & (out.process_noise < q_true * 4))
    raw_error = 2.0 * np.sqrt(2 / np.pi)
    assert np.abs(out.keypoints - truth).mean() < 0.7 * raw_error


def test_never_measured_keypoints_stay_nan_and_shapes_are_checked():
    xy = np.zeros((10, 2, 2))
    sig = np.ones_like(xy)
    xy[:, 1] = np.nan
    out = smooth_keypoints(xy, sig)
    assert np.isnan(out.keypoints[:, 1]).all() and np.isfinite(out.keypoints[:, 0]).all()
    with pytest.raises(ValueError, match='must both be'):
        smooth_keypoints(xy, sig[:, :1])
    with pytest.raises(ValueError, match='process_noise'):
        smooth_keypoints(xy, sig, process_noise=0.0)
