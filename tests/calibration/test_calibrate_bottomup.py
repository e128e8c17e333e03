"""calibrate_model on a bottom-up model: the single-view map is fitted on the ground truth
paired with the predictions, in the head's units, and brings the held-out coverage of σ
reported too small to nominal."""

import math

import numpy as np
import pytest

from mmpose_rle.calibration import calibrate_model, collect_predictions, format_report
from tests.calibration.bottomup_fixtures import NoisyOracle, synthetic_batches, use_oracle

NOMINAL_1SIGMA = 1 - math.exp(-math.sqrt(2))  # Laplace, RLE's Q


@pytest.fixture()
def mocked(one_stage, monkeypatch):
    """The one-stage model whose ``test_step`` returns its batch (predicted samples)."""
    model, _ = one_stage
    monkeypatch.setattr(model, 'test_step', lambda batch: batch)
    model.head.sigma_calibration.reset_()
    yield model
    model.head.sigma_calibration.reset_()


def test_sigma_reported_twice_too_small_is_scaled_by_two(mocked):
    k = mocked.head.num_keypoints
    loader = synthetic_batches(100, k, true_rms=lambda rms: 2 * rms)
    reports = calibrate_model(mocked, loader, folds=5)
    assert list(reports) == ['single']  # the head's only mode
    report = reports['single']
    assert report['instances'] == 300 and report['missing'] == 100  # one per image
    log_scale, power = mocked.head.sigma_calibration.map('single')
    np.testing.assert_allclose(log_scale.numpy(), report['log_scale'], rtol=1e-6)
    assert (power == 1).all() and log_scale.shape == (k, 2)
    assert abs(log_scale.mean().item() - math.log(2)) < 0.04
    assert (log_scale - math.log(2)).abs().max() < 0.25  # 300 errors per keypoint and axis
    before, after = report['before']['within_1sigma'], report['heldout']['within_1sigma']
    assert before == pytest.approx(1 - math.exp(-math.sqrt(2) / 2), abs=0.03)  # σ half the RMS
    assert after == pytest.approx(NOMINAL_1SIGMA, abs=0.02)
    assert 'unpaired ground truth' in format_report(reports)


def test_a_power_map_is_fitted_in_instance_sizes(mocked):
    """True RMS ``1.5 √rms`` in head units: a power law of the head's RMS, which it is not
    of σ in pixels (``s · rms`` with sizes ``s`` from 6 to 40 pixels)."""
    loader = synthetic_batches(60, mocked.head.num_keypoints, lambda rms: 1.5 * np.sqrt(rms))
    calibrate_model(mocked, loader, kind='power', share='all', folds=2)
    log_scale, power = mocked.head.sigma_calibration.map('single')
    assert power.unique().item() == pytest.approx(0.5, abs=0.05)
    assert log_scale.unique().item() == pytest.approx(math.log(1.5), abs=0.05)


def test_without_a_pair_there_is_nothing_to_calibrate(mocked):
    loader = synthetic_batches(2, mocked.head.num_keypoints, lambda rms: rms)
    for batch in loader:
        for sample in batch:
            sample.gt_instances.bboxes += 500  # no box overlaps a prediction
    with pytest.raises(ValueError, match='no labelled ground truth paired'):
        calibrate_model(mocked, loader, folds=2)


def test_a_real_model_pass_is_calibrated_to_nominal(one_stage, monkeypatch):
    """The tiny model's own pass (oracle predictions of RMS twice the head's σ): the map
    brings its σ to the errors, and the head reports calibrated σ after."""
    model, loader = one_stage
    use_oracle(monkeypatch, NoisyOracle(factor=2.0))
    model.head.sigma_calibration.reset_()
    raw = collect_predictions(model, loader)
    reports = calibrate_model(model, loader, share='all', folds=2)
    log_scale = model.head.sigma_calibration.map('single')[0]
    scale = math.exp(log_scale[0, 0])
    assert (log_scale == log_scale[0, 0]).all() and scale == pytest.approx(2.0, rel=0.2)
    assert reports['single']['heldout']['within_1sigma'] == pytest.approx(NOMINAL_1SIGMA, abs=0.1)
    assert reports['single']['before']['within_1sigma'] < 0.6
    calibrated = collect_predictions(model, loader)
    np.testing.assert_allclose(calibrated['sigmas'], raw['sigmas'] * scale, rtol=1e-4)
    model.head.sigma_calibration.reset_()
