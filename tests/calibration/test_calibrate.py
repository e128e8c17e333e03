"""calibrate_model fits one σ map per inference mode, each on the predictions of its mode,
and collect_predictions predicts in the mode asked for."""

import os
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmpose_rle.apis.onnx_export import build_model
from mmpose_rle.calibration import (
    calibrate_model,
    collect_predictions,
    fit_calibration,
    format_report,
    inference_modes,
)
from tests.helpers import QUICKSTART_CONFIG


@pytest.fixture(scope='module')
def model_and_loader(tiny_figures):
    """The quick-start model, untrained (its flip test moves the predictions a lot), and the
    tiny validation split."""
    with mock.patch.dict(os.environ, MMPOSE_RLE_DATA_ROOT=str(tiny_figures)):
        cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    cfg.val_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    return build_model(cfg), Runner.build_dataloader(cfg.val_dataloader)


def raw_predictions(model, loader, flip_test: bool) -> dict:
    """What the model predicts with ``test_cfg.flip_test`` set by hand (identity maps)."""
    model.head.sigma_calibration.reset_()
    before = model.test_cfg['flip_test']
    model.test_cfg['flip_test'] = flip_test
    try:
        return collect_predictions(model, loader)
    finally:
        model.test_cfg['flip_test'] = before


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


def test_collect_predictions_predicts_in_the_mode_asked_and_restores_test_cfg(model_and_loader):
    model, loader = model_and_loader
    model.head.sigma_calibration.reset_()
    by_hand = raw_predictions(model, loader, False)
    by_mode = collect_predictions(model, loader, mode='single')
    np.testing.assert_allclose(by_mode['errors'], by_hand['errors'])
    assert model.test_cfg['flip_test'] is True
    with pytest.raises(ValueError, match='mode must be'):
        collect_predictions(model, loader, mode='both')


def test_inference_modes_need_a_2d_head_and_flip_indices():
    def model(modes):
        return SimpleNamespace(head=SimpleNamespace(inference_modes=modes))

    def loader(metainfo):
        return SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo))

    with_flip = loader(dict(flip_indices=[1, 0]))
    assert inference_modes(model(('single', 'flip')), with_flip) == ('single', 'flip')
    assert inference_modes(model(('single', 'flip')), loader({})) == ('single',)
    assert inference_modes(model(('single',)), with_flip) == ('single',)  # the lifting head
