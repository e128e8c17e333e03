"""heldout_report: σ as predicted and after maps cross-fitted on the other folds."""

import math

import numpy as np
import pytest

from mmpose_rle.calibration import heldout_report
from mmpose_rle.evaluation import uncertainty_metrics


def proportional(n=300, k=3, ratio=2.0, seed=0):
    """|e| = ratio · σ exactly: every fold's temperature is √2 · ratio (Laplace)."""
    rng = np.random.default_rng(seed)
    sigmas = rng.uniform(0.5, 2.0, size=(n, k, 2))
    errors = ratio * sigmas * rng.choice([-1.0, 1.0], size=sigmas.shape)
    return errors, sigmas, np.ones((n, k), bool), np.arange(n) // 4


def test_temperature_of_proportional_errors_is_the_closed_form():
    errors, sigmas, visible, groups = proportional()
    metrics, calibrated = heldout_report(errors, sigmas, visible, groups, folds=3)
    expected = math.sqrt(2) * 2.0 * sigmas  # a = √2 mean(|e|/σ), the same on every fold
    np.testing.assert_allclose(calibrated['temperature'], expected, rtol=1e-12)
    assert set(metrics) == {'raw', 'temperature'} and set(calibrated) == {'temperature'}
    raw = uncertainty_metrics(errors.reshape(-1, 2), sigmas.reshape(-1, 2))
    for key, value in raw.items():
        assert metrics['raw'][key] == pytest.approx(value, nan_ok=True)
    # |e| = σ'/√2 everywhere: all inside 1σ, none of the errors beyond it
    assert metrics['temperature']['within_1sigma'] == 1.0
    assert metrics['raw']['within_1sigma'] == 0.0


def test_a_groups_calibrated_sigma_ignores_its_own_errors():
    rng = np.random.default_rng(1)
    sigmas = rng.uniform(0.5, 2.0, size=(200, 2, 2))
    errors = rng.laplace(scale=sigmas)
    visible, groups = np.ones((200, 2), bool), np.arange(200) // 10
    _, before = heldout_report(errors, sigmas, visible, groups, kinds=('temperature', 'power'))
    changed = errors.copy()
    changed[groups == 3] *= 50.0  # one group's errors blow up
    _, after = heldout_report(changed, sigmas, visible, groups, kinds=('temperature', 'power'))
    for kind in ('temperature', 'power'):
        mine = groups == 3
        np.testing.assert_array_equal(after[kind][mine], before[kind][mine])
        assert (after[kind][~mine] > before[kind][~mine]).any()  # the other folds saw them


def test_hidden_keypoints_count_nowhere():
    errors, sigmas, visible, groups = proportional(seed=2)
    visible[::3, 1] = False
    errors[~visible] = np.nan
    metrics, calibrated = heldout_report(errors, sigmas, visible, groups)
    assert np.isfinite(calibrated['temperature']).all()
    assert all(np.isfinite(v) for m in metrics.values() for v in m.values())
