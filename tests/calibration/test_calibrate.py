"""calibrate_model fits one σ map per inference mode, each on the predictions of its mode,
in the units of the head's map: a top-down head (a map per mode) and the lifting head."""

import math

import numpy as np

from mmpose_rle.calibration import (
    calibrate_model,
    collect_predictions,
    fit_calibration,
    format_report,
)
from tests.calibration.fixtures import head_rms, raw_predictions


def test_each_mode_gets_the_map_fitted_on_its_own_predictions(model_and_loader):
    model, loader = model_and_loader
    raw = {mode: raw_predictions(model, loader, mode == 'flip') for mode in ('single', 'flip')}
    # the flip test changes the errors much more than it changes σ
    gap_e = np.abs(raw['flip']['errors']).mean() / np.abs(raw['single']['errors']).mean()
    gap_s = raw['flip']['sigmas'].mean() / raw['single']['sigmas'].mean()
    assert abs(np.log(gap_e) - np.log(gap_s)) > 0.1

    reports = calibrate_model(model, loader, folds=2)
    assert set(reports) == {'single', 'flip'} and model.test_cfg['flip_test'] is True
    maps = {}
    for mode, predictions in raw.items():
        expected, _ = fit_calibration(
            predictions['errors'], predictions['sigmas'], predictions['visible']
        )
        log_scale, power = model.head.sigma_calibration.map(mode)
        np.testing.assert_allclose(log_scale.numpy(), expected, rtol=1e-5, atol=1e-6)
        assert (power == 1).all() and reports[mode]['mode'] == mode
        np.testing.assert_allclose(reports[mode]['log_scale'], expected, rtol=1e-5, atol=1e-6)
        maps[mode] = expected
    assert np.abs(maps['flip'] - maps['single']).mean() > 0.1  # two different maps
    assert 'single view' in format_report(reports) and 'flip test' in format_report(reports)


def closed_form_temperature(errors, sigmas, visible):
    """``log(√2 mean(|e|/σ))`` per joint and axis over the visible samples (Laplace),
    0 where a joint is never visible. The ratio is the same in any unit."""
    ratio = np.where(visible[..., None], np.abs(errors) / np.where(sigmas > 0, sigmas, 1), 0)
    count = visible.sum(0)[:, None]
    with np.errstate(divide='ignore', invalid='ignore'):
        out = np.log(math.sqrt(2) * ratio.sum(0) / count)
    return np.where(count > 0, out, 0.0)


def test_the_lifting_head_is_calibrated_in_its_units_without_its_fixed_root(lifting):
    model, loader = lifting
    head = model.head
    assert head.fixed_root() == 0 and head.inference_modes == ('single',)
    head.sigma_calibration.reset_()
    raw = collect_predictions(model, loader)  # mm, with the root
    reports = calibrate_model(model, loader, folds=2)
    assert set(reports) == {'single'}
    visible = raw['visible'].copy()
    visible[:, 0] = False
    expected = closed_form_temperature(raw['errors'], raw['sigmas'], visible)
    log_scale, power = head.sigma_calibration.map('single')
    np.testing.assert_allclose(log_scale.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert (log_scale[0] == 0).all() and (power == 1).all() and (log_scale[1:] != 0).all()
    assert reports['single']['instances'] == 90  # 3 videos of 30 frames
    calibrated = collect_predictions(model, loader)
    np.testing.assert_allclose(
        calibrated['sigmas'], raw['sigmas'] * np.exp(expected), rtol=1e-5, atol=1e-9
    )
    head.sigma_calibration.reset_()


def test_a_power_map_of_the_lifting_head_is_fitted_on_its_rms(lifting):
    """The power map bends σ, so its fit depends on the unit: the head's RMS (from
    ``predict_outputs``) is the unit its map applies to."""
    model, loader = lifting
    head = model.head
    head.sigma_calibration.reset_()
    raw = collect_predictions(model, loader)
    rms = head_rms(model, loader)  # identity maps
    calibrate_model(model, loader, kind='power', share='all', folds=2)
    visible = raw['visible'].copy()

    visible[:, 0] = False
    expected, power = fit_calibration(
        raw['errors'] / raw['sigmas'].clip(1e-12) * rms, rms, visible, kind='power', share='all'
    )
    log_scale, fitted_power = head.sigma_calibration.map('single')
    np.testing.assert_allclose(fitted_power.numpy(), power, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(log_scale.numpy(), expected, rtol=1e-3, atol=1e-4)
    assert abs(power[1, 0] - 1) > 1e-3  # a bent map: the unit matters
    head.sigma_calibration.reset_()
