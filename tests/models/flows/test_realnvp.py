"""RealNVP invariants on randomised weights (one test body for every flow setting)."""

import math

import pytest
import torch
from mmpose.models.utils.realnvp import RealNVP as MMPoseRealNVP
from torch.autograd.functional import jacobian

from mmpose_rle.models import RealNVP
from tests.helpers import randomise_

SETTINGS = [
    dict(),  # the paper's / MMPose's network
    dict(dim=3),
    dict(num_layers=3, hidden_channels=16),
    dict(dim=3, num_layers=4, hidden_channels=8),
]


def make_flow(dtype=torch.float64, **kwargs) -> RealNVP:
    return randomise_(RealNVP(**kwargs)).to(dtype)


@pytest.fixture(
    params=SETTINGS, ids=lambda s: ','.join(f'{k}={v}' for k, v in s.items()) or 'default'
)
def flow(request) -> RealNVP:
    return make_flow(**request.param)


def test_randomised_flow_is_far_from_identity(flow):
    z = torch.randn(64, flow.dim, dtype=torch.float64)
    x, log_det = flow(z)
    assert (x - z).abs().max() > 0.1
    assert log_det.abs().max() > 0.1


def test_inverse_of_forward_is_identity(flow):
    z = torch.randn(128, flow.dim, dtype=torch.float64) * 2
    x, _ = flow(z)
    z_back, _ = flow.inverse(x)
    torch.testing.assert_close(z_back, z, rtol=0, atol=1e-10)
    x_back, _ = flow(flow.inverse(x)[0])
    torch.testing.assert_close(x_back, x, rtol=0, atol=1e-10)


def test_log_dets_of_forward_and_inverse_cancel(flow):
    z = torch.randn(32, flow.dim, dtype=torch.float64)
    x, fwd = flow(z)
    _, inv = flow.inverse(x)
    torch.testing.assert_close(fwd + inv, torch.zeros_like(fwd), rtol=0, atol=1e-10)


@pytest.mark.parametrize('direction', ['forward', 'inverse'])
def test_log_det_matches_autograd_jacobian(flow, direction):
    fn = flow.forward if direction == 'forward' else flow.inverse
    points = torch.randn(8, flow.dim, dtype=torch.float64) * 1.5
    _, log_det = fn(points)
    for point, ld in zip(points, log_det):
        jac = jacobian(lambda p: fn(p[None])[0][0], point)
        sign, logabsdet = torch.linalg.slogdet(jac)
        assert sign != 0
        torch.testing.assert_close(ld, logabsdet, rtol=0, atol=1e-10)


def test_log_prob_is_standard_normal_prior_plus_log_det(flow):
    x = torch.randn(50, flow.dim, dtype=torch.float64) * 2
    z, log_det = flow.inverse(x)
    prior = -0.5 * (z**2).sum(1) - 0.5 * flow.dim * math.log(2 * math.pi)
    torch.testing.assert_close(flow.log_prob(x), prior + log_det, rtol=0, atol=1e-10)


def test_density_integrates_to_one():
    flow = randomise_(RealNVP(), std=0.2).double()
    lim, n = 14.0, 701
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(-1, 2)
    with torch.no_grad():
        density = flow.log_prob(grid).exp()
    cell = (2 * lim / (n - 1)) ** 2
    assert abs(density.sum().item() * cell - 1) < 2e-3


def test_samples_follow_forward_of_prior_draws(flow):
    torch.manual_seed(3)
    samples = flow.sample(1000)
    torch.manual_seed(3)
    expected = flow(flow.prior.sample((1000,)))[0]
    torch.testing.assert_close(samples, expected)
    assert samples.shape == (1000, flow.dim)
    assert torch.isfinite(flow.log_prob(samples)).all()


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_shapes_and_dtypes_are_kept(dtype):
    flow = RealNVP().to(dtype)
    x = torch.randn(7, 2, dtype=dtype)
    for out, ld in (flow(x), flow.inverse(x)):
        assert out.shape == (7, 2) and out.dtype == dtype
        assert ld.shape == (7,) and ld.dtype == dtype
    assert flow.log_prob(x).shape == (7,)


def test_default_state_dict_is_mmpose_layout_and_loads():
    ours, theirs = RealNVP(), randomise_(MMPoseRealNVP())
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert {k: v.shape for k, v in ours_sd.items()} == {k: v.shape for k, v in theirs_sd.items()}
    torch.testing.assert_close(ours_sd['mask'], theirs_sd['mask'])
    ours.load_state_dict(theirs_sd, strict=True)
    x = torch.randn(20, 2)
    torch.testing.assert_close(ours.log_prob(x), theirs.log_prob(x))
    torch.testing.assert_close(ours.inverse(x)[0], theirs.backward_p(x)[0])


def test_masks_alternate_and_cover_every_coordinate():
    for dim, layers in ((2, 6), (3, 5), (2, 2)):
        mask = RealNVP(dim=dim, num_layers=layers).mask
        assert mask.shape == (layers, dim)
        assert ((mask[1:] + mask[:-1]) == 1).all()
        assert (mask == 0).any(0).all()  # every coordinate is moved by some layer


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(dim=4), 'dim 2 or 3'),
        (dict(num_layers=1), 'at least 2'),
    ],
)
def test_invalid_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RealNVP(**kwargs)


def test_wrong_input_shape_raises():
    with pytest.raises(ValueError, match=r'shape \(B, 2\)'):
        RealNVP().log_prob(torch.zeros(4, 3))
