"""Calibration fits recover known maps and cross-fitting keeps the held-out data out."""

import math

import numpy as np
import pytest

from mmpose_rle.calibration import apply_calibration, cross_fit, fit_calibration


def data(n=6000, k=3, scale=(2.0, 0.5, 1.0), power=1.0, family='laplace', seed=0):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.01, 0.08, size=(n, k, 2))
    true = np.asarray(scale)[None, :, None] * sigma**power
    if family == 'laplace':
        errors = rng.laplace(scale=true / math.sqrt(2))
    else:
        errors = rng.normal(scale=true)
    return errors, sigma, np.ones((n, k), bool)


@pytest.mark.parametrize('family', ['laplace', 'gaussian'])
def test_temperature_recovers_a_known_scale_per_keypoint(family):
    errors, sigma, visible = data(family=family)
    log_scale, power = fit_calibration(errors, sigma, visible, family=family)
    np.testing.assert_allclose(np.exp(log_scale), [[2.0, 2.0], [0.5, 0.5], [1.0, 1.0]], rtol=0.04)
    assert (power == 1).all()


def test_power_recovers_a_bent_map():
    errors, sigma, visible = data(scale=(0.3, 0.3, 0.3), power=0.6, n=20000)
    log_scale, power = fit_calibration(errors, sigma, visible, kind='power')
    np.testing.assert_allclose(power, 0.6, atol=0.05)
    np.testing.assert_allclose(np.exp(log_scale), 0.3, rtol=0.2)


def test_share_pools_keypoints_and_invisible_ones_do_not_count():
    errors, sigma, visible = data(scale=(2.0, 2.0, 2.0))
    visible[:, 1] = False
    errors[:, 1] *= 100  # would dominate if it counted
    log_scale, _ = fit_calibration(errors, sigma, visible, share='all')
    np.testing.assert_allclose(np.exp(log_scale), 2.0, rtol=0.04)
    assert len(np.unique(log_scale)) == 1


def test_cross_fit_does_not_see_the_held_out_sample():
    errors, sigma, visible = data(n=200)
    a = cross_fit(errors, sigma, visible, folds=5, groups=np.arange(200) // 4)
    changed = errors.copy()
    changed[7] *= 50  # sample 7 is held out in its fold: its own calibration cannot change
    b = cross_fit(changed, sigma, visible, folds=5, groups=np.arange(200) // 4)
    np.testing.assert_allclose(a[7], b[7])
    assert not np.allclose(a, b)  # but the other folds' maps move


def test_apply_calibration_is_the_formula():
    sigma = np.full((1, 1, 2), 0.04)
    out = apply_calibration(sigma, np.log([[2.0, 3.0]]), np.array([[1.0, 0.5]]))
    np.testing.assert_allclose(out[0, 0], [0.08, 3 * 0.2])


def test_bad_options_raise():
    errors, sigma, visible = data(n=10)
    with pytest.raises(ValueError, match='kind must be in'):
        fit_calibration(errors, sigma, visible, kind='isotonic')
