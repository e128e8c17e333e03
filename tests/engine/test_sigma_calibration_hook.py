"""SigmaCalibrationHook after training: the lifting head's and the one-stage head's maps
fitted on the validation split, the reports logged, and calibrated.pth saved without
optimiser state."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.logging import MessageHub

from mmpose_rle.calibration import collect_predictions
from mmpose_rle.engine import SigmaCalibrationHook
from tests.calibration.bottomup_fixtures import (
    NoisyOracle,
    crowds_data,
    one_stage_model_and_loader,
    use_oracle,
)
from tests.calibration.fixtures import lifting_data, lifting_model_and_loader


class Runner(SimpleNamespace):
    """What the hook reads of MMEngine's runner, recording what it writes."""

    def save_checkpoint(self, out_dir, filename, **kwargs):
        self.saved.append((out_dir, filename, kwargs))


@pytest.fixture(scope='module')
def lifting(tmp_path_factory):
    return lifting_model_and_loader(lifting_data(tmp_path_factory.mktemp('lifting')))


def _runner(model, loader, work_dir, logs) -> Runner:
    return Runner(
        model=model,
        val_dataloader=loader,
        logger=SimpleNamespace(info=logs.append),
        message_hub=MessageHub.get_instance('test_sigma_calibration_hook'),
        work_dir=str(work_dir),
        saved=[],
    )


def test_the_hook_fits_the_lifting_heads_map_and_saves_it(lifting, tmp_path):
    model, loader = lifting
    model.head.sigma_calibration.reset_()
    raw = collect_predictions(model, loader)
    logs = []
    runner = _runner(model, loader, tmp_path, logs)
    SigmaCalibrationHook(folds=2, filename='cal.pth').after_train(runner)

    # temperature, per joint and axis: log(√2 mean(|e|/σ)), the same in mm as in the
    # head's units; the root the codec pins (joint 0) keeps the identity
    ratio = np.abs(raw['errors'][:, 1:]) / raw['sigmas'][:, 1:]
    expected = np.log(math.sqrt(2) * ratio.mean(0))
    log_scale, power = model.head.sigma_calibration.map('single')
    np.testing.assert_allclose(log_scale[1:].numpy(), expected, rtol=1e-5)
    assert (log_scale[0] == 0).all() and (power == 1).all()
    assert runner.saved == [
        (str(tmp_path), 'cal.pth', dict(save_optimizer=False, save_param_scheduler=False))
    ]
    reports = runner.message_hub.get_info('sigma_calibration')
    assert list(reports) == ['single'] and reports['single']['folds'] == 2
    assert json.loads(json.dumps(reports)) == reports  # stored as plain JSON
    assert 'σ calibration, single view' in logs[0]
    model.head.sigma_calibration.reset_()


def test_the_hook_fits_the_one_stage_heads_map_on_paired_instances(tmp_path, monkeypatch):
    """A bottom-up model (oracle predictions, errors of RMS twice the head's σ): the map is
    the closed-form temperature of the paired instances' errors and σ in head units."""
    model, loader = one_stage_model_and_loader(crowds_data(tmp_path / 'crowds'))
    use_oracle(monkeypatch, NoisyOracle(factor=2.0))
    raw = collect_predictions(model, loader)
    logs = []
    runner = _runner(model, loader, tmp_path, logs)
    SigmaCalibrationHook(folds=2, share='all').after_train(runner)

    ratio = np.abs(raw['errors']) / raw['sigmas']
    expected = np.log(math.sqrt(2) * ratio[raw['visible']].mean())
    log_scale, power = model.head.sigma_calibration.map('single')
    np.testing.assert_allclose(log_scale.numpy(), np.full((11, 2), expected), rtol=1e-5)
    assert (power == 1).all() and math.exp(expected) == pytest.approx(2, rel=0.2)
    assert [name for _, name, _ in runner.saved] == ['calibrated.pth']
    reports = runner.message_hub.get_info('sigma_calibration')
    assert list(reports) == ['single'] and reports['single']['missing'] == 0
    assert reports['single']['instances'] == len(raw['errors'])
    assert 'σ calibration, single view' in logs[0]
