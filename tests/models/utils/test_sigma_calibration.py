"""SigmaCalibration: one map per inference mode, and checkpoints of every age load."""

import math
import warnings

import pytest
import torch

from mmpose_rle.models import RLEHead
from mmpose_rle.models.utils.sigma_calibration import MODES, SigmaCalibration

K = 3


def head() -> RLEHead:
    return RLEHead(in_channels=8, num_joints=K)


def test_each_mode_applies_its_own_map():
    cal = SigmaCalibration(K)
    gen = torch.Generator().manual_seed(0)
    sigma = torch.rand(4, K, 2, generator=gen) * 0.1 + 0.01
    a_single = torch.randn(K, 2, generator=gen) * 0.3
    a_flip = torch.randn(K, 2, generator=gen) * 0.3
    p_flip = torch.rand(K, 2, generator=gen) + 0.5
    cal.set_(a_single, mode='single')
    assert not cal.identity_in('single') and cal.identity_in('flip')
    cal.set_(a_flip, p_flip, mode='flip')
    torch.testing.assert_close(cal(sigma), a_single.exp() * sigma)  # single is the default
    torch.testing.assert_close(cal(sigma, mode='flip'), a_flip.exp() * sigma**p_flip)
    cal.reset_()
    assert cal.is_identity and torch.equal(cal(sigma, mode='flip'), sigma)


def test_an_unknown_mode_raises():
    with pytest.raises(ValueError, match='mode must be one of'):
        SigmaCalibration(K)(torch.ones(1, K, 2), mode='tta')


def test_a_checkpoint_with_one_map_loads_it_into_every_mode():
    """A map fitted before the modes existed was fitted in an unknown mode: both get it."""
    state = head().state_dict()
    for key in [k for k in state if k.startswith('sigma_calibration.flip_')]:
        del state[key]
    log_scale = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    power = torch.tensor([[1.0, 0.9], [0.8, 1.1], [1.2, 1.0]])
    state['sigma_calibration.log_scale'], state['sigma_calibration.power'] = log_scale, power
    new = head()
    with pytest.warns(UserWarning, match='re-fit'):
        new.load_state_dict(state)
    for mode in MODES:
        got_scale, got_power = new.sigma_calibration.map(mode)
        torch.testing.assert_close(got_scale, log_scale)
        torch.testing.assert_close(got_power, power)


def test_checkpoints_without_a_map_load_the_identity_and_new_ones_keep_each_mode():
    state = {k: v for k, v in head().state_dict().items() if 'sigma_calibration' not in k}
    new = head()
    new.sigma_calibration.set_(torch.ones(K, 2), mode='flip')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # nothing to warn about
        new.load_state_dict(state)
    assert new.sigma_calibration.is_identity

    fitted = head()
    fitted.sigma_calibration.set_(torch.full((K, 2), math.log(2.0)))
    fitted.sigma_calibration.set_(torch.full((K, 2), math.log(5.0)), mode='flip')
    loaded = head()
    loaded.load_state_dict(fitted.state_dict())
    for mode, value in (('single', 2.0), ('flip', 5.0)):
        torch.testing.assert_close(
            loaded.sigma_calibration.map(mode)[0].exp(), torch.full((K, 2), value)
        )
