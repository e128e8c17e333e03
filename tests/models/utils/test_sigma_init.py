"""sigma_init: the check and the bias that makes the sigmoid start at the given σ̂."""

import pytest
import torch

from mmpose_rle.models.utils import checked_sigma_init, sigma_init_bias


@pytest.mark.parametrize('p', [1e-4, 0.1, 0.5, 0.9])
def test_the_bias_makes_the_sigmoid_start_at_sigma_init(p):
    bias = torch.tensor(sigma_init_bias(p), dtype=torch.float64)
    torch.testing.assert_close(torch.sigmoid(bias), torch.tensor(p, dtype=torch.float64))


def test_values_in_the_open_interval_and_none_pass_unchanged():
    assert checked_sigma_init('Head', 0.3) == 0.3
    assert checked_sigma_init('Head', None) is None


@pytest.mark.parametrize('bad', [0.0, 1.0, -0.2, 1.5])
def test_values_outside_the_open_interval_are_refused_naming_the_owner(bad):
    with pytest.raises(ValueError, match=r'MyHead: sigma_init must lie in \(0, 1\)'):
        checked_sigma_init('MyHead', bad)
