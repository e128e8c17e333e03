"""Uncertainty metrics against hand-made cases, closed forms and scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from mmpose_rle.evaluation import (
    calibration_error,
    coverage,
    negative_log_likelihood,
    nominal_coverage,
    reliability,
    rms_ratio,
    sparsification,
    spearman,
    uncertainty_metrics,
)


def draws(family, n=200000, scale_error=1.0, seed=0):
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.5, 4.0, size=(n, 2))
    if family == 'laplace':
        err = rng.laplace(scale=scale_error * sigma / math.sqrt(2))
    else:
        err = rng.normal(scale=scale_error * sigma)
    return err, sigma


def test_nominal_values():
    assert [round(nominal_coverage(k, 'laplace'), 3) for k in (1, 2, 3)] == [0.757, 0.941, 0.986]
    assert [round(nominal_coverage(k, 'gaussian'), 3) for k in (1, 2, 3)] == [0.683, 0.954, 0.997]
    with pytest.raises(ValueError, match='family'):
        nominal_coverage(1, 'cauchy')


def test_hand_made_coverage_and_reliability():
    errors, sigmas = np.array([0.5, -1.5, 3.0]), np.ones(3)
    assert coverage(errors, sigmas, 1) == pytest.approx(1 / 3)
    assert coverage(errors, sigmas, 2) == pytest.approx(2 / 3)
    r = reliability(errors, sigmas, 'gaussian', levels=[0.5])
    # the central 50 % Gaussian interval is ±0.674σ: one of the three errors is inside
    assert r['observed'].tolist() == [pytest.approx(1 / 3)]


@pytest.mark.parametrize('family', ['laplace', 'gaussian'])
def test_calibrated_draws_are_calibrated_and_scaled_ones_are_not(family):
    err, sigma = draws(family)
    for k in (1, 2, 3):
        assert coverage(err, sigma, k) == pytest.approx(nominal_coverage(k, family), abs=0.005)
    assert calibration_error(err, sigma, family) < 0.005
    assert calibration_error(err, 2 * sigma, family) > 0.1  # too wide
    assert calibration_error(err, sigma / 2, family) > 0.1  # too narrow
    nll = negative_log_likelihood(err, sigma, family)
    assert nll < negative_log_likelihood(err, 2 * sigma, family)
    assert nll < negative_log_likelihood(err, sigma / 2, family)


def test_nll_against_scipy():
    err, sigma = np.array([0.3, -2.0, 1.0]), np.array([1.0, 2.0, 0.5])
    laplace = -stats.laplace.logpdf(err, scale=sigma / math.sqrt(2)).mean()
    gaussian = -stats.norm.logpdf(err, scale=sigma).mean()
    assert negative_log_likelihood(err, sigma, 'laplace') == pytest.approx(laplace)
    assert negative_log_likelihood(err, sigma, 'gaussian') == pytest.approx(gaussian)


def test_sparsification_hand_made():
    errors = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0]])
    perfect = sparsification(errors, errors + 0.1, num_fractions=4)
    # dropping 0, 1, 2, 3 of 4 keypoints, largest first: mean errors 2.5, 2, 1.5, 1 over 2.5
    np.testing.assert_allclose(perfect['oracle'], [1.0, 0.8, 0.6, 0.4])
    np.testing.assert_allclose(perfect['by_sigma'], perfect['oracle'])
    assert perfect['ause'] == 0 and perfect['aurg'] == pytest.approx((0 + 0.2 + 0.4 + 0.6) / 4)
    reverse = sparsification(errors, 5 - errors, num_fractions=4)
    np.testing.assert_allclose(reverse['by_sigma'], [1.0, 3 / 2.5, 3.5 / 2.5, 4 / 2.5])
    assert reverse['ause'] > 0 and reverse['aurg'] < 0


def test_spearman_against_scipy_on_radial_values():
    rng = np.random.default_rng(1)
    err, sigma = rng.normal(size=(50, 2)), rng.uniform(size=(50, 2))
    expected = stats.spearmanr(np.linalg.norm(sigma, axis=1), np.linalg.norm(err, axis=1))
    assert spearman(err, sigma) == pytest.approx(expected.statistic)


@pytest.mark.parametrize('family', ['laplace', 'gaussian'])
def test_rms_ratio_is_one_for_the_right_rms_whatever_the_shape(family):
    err, sigma = draws(family)
    assert rms_ratio(err, sigma) == pytest.approx(1.0, abs=0.01)
    assert rms_ratio(err, 2 * sigma) == pytest.approx(0.5, abs=0.005)


def test_rms_ratio_hand_made():
    errors, sigmas = np.array([[3.0, 0.0], [0.0, 4.0]]), np.array([[1.0, 1.0], [1.0, 2.0]])
    assert rms_ratio(errors, sigmas) == pytest.approx(math.sqrt((9 + 4) / 4))


def test_all_metrics_in_one_dict():
    err, sigma = draws('laplace', n=2000)
    out = uncertainty_metrics(err, sigma)
    assert set(out) == {
        'within_1sigma',
        'within_2sigma',
        'within_3sigma',
        'nominal_1sigma',
        'nominal_2sigma',
        'nominal_3sigma',
        'ece',
        'nll',
        'ause',
        'aurg',
        'sigma_error_spearman',
        'rms_ratio',
    }
    assert out['sigma_error_spearman'] > 0.2 and out['aurg'] > 0
