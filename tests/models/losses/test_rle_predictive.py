"""The predictive distribution of one RLE setting: point prediction, RMS, coverage, cache."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from mmpose_rle.models.flows import RealNVP
from mmpose_rle.models.losses import ResidualMoment, RLELoss
from mmpose_rle.models.losses.rle_predictive import RLEPredictive
from tests.helpers import randomise_


def random_flow(seed: int = 0) -> RealNVP:
    return randomise_(RealNVP(), std=0.2, seed=seed).eval()


def identity_flow() -> RealNVP:
    """All parameters zero: s = tanh(0) = 0 and t = 0 in every layer, so G = N(0, I)."""
    flow = RealNVP()
    with torch.no_grad():
        for p in flow.parameters():
            p.zero_()
    return flow.eval()


def pseudo_random_flow_samples(flow: RealNVP, n: int = 40_000) -> torch.Tensor:
    """Plain Monte Carlo draws of G (not the quasi-random nodes the module uses)."""
    gen = torch.Generator().manual_seed(123)
    with torch.no_grad():
        return flow(torch.randn(n, flow.dim, generator=gen))[0]


def test_residual_rms_is_the_rms_of_samples_of_the_flow_density():
    flow = random_flow()
    x = pseudo_random_flow_samples(flow)
    expected = (x**2).mean(0).sqrt()
    got = RLEPredictive(flow, design='residual', density='flow').residual_rms()
    assert got.shape == (2,)
    torch.testing.assert_close(got, expected, rtol=0.02, atol=0)
    assert not torch.allclose(expected, torch.ones(2), rtol=0.1)  # the flow is not trivial


def test_coverage_is_the_share_of_flow_samples_within_k_rms():
    flow = random_flow(seed=1)
    x = pseudo_random_flow_samples(flow)
    s = (x**2).mean(0).sqrt()
    model = RLEPredictive(flow, design='residual', density='flow')
    for k in (1.0, 2.0):
        expected = (x.abs() <= k * s).float().mean(0)
        torch.testing.assert_close(model.coverage(k), expected, rtol=0, atol=0.01)


def test_an_identity_flow_gives_the_standard_normal_rms_and_coverage():
    model = RLEPredictive(identity_flow(), design='residual', density='flow')
    torch.testing.assert_close(model.residual_rms(), torch.ones(2), rtol=1e-3, atol=0)
    for k in (1.0, 2.0):
        want = math.erf(k / math.sqrt(2))  # 0.6827, 0.9545
        torch.testing.assert_close(model.coverage(k), torch.full((2,), want), rtol=0, atol=2e-3)


def test_product_density_rms_of_identity_flow_matches_one_dimensional_integrals():
    # Q·G/Z with G = N(0, 1) per coordinate: Gaussian Q gives exp(−x²), variance 1/2;
    # Laplace Q gives exp(−|x| − x²/2), whose second moment is a 1-D integral.
    gauss = RLEPredictive(identity_flow(), q_distribution='gaussian', density='product')
    torch.testing.assert_close(gauss.residual_rms(), torch.full((2,), 0.5**0.5), rtol=2e-3, atol=0)
    t = np.linspace(-12, 12, 240_001)
    p = np.exp(-np.abs(t) - t**2 / 2)
    want = math.sqrt(np.trapz(t**2 * p, t) / np.trapz(p, t))
    laplace = RLEPredictive(identity_flow(), q_distribution='laplace', density='product')
    torch.testing.assert_close(laplace.residual_rms(), torch.full((2,), want), rtol=2e-3, atol=0)
    assert abs(want - 1.0) > 0.1 and abs(want - 2**0.5) > 0.1  # neither G nor Q alone


def test_product_density_rms_of_a_random_flow_matches_a_grid():
    flow = random_flow(seed=2)
    axis = torch.linspace(-14, 14, 281, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(-1, 2)
    with torch.no_grad():
        log_p = flow.double().log_prob(grid) - 0.5 * (grid**2).sum(1)  # G · Gaussian Q
    flow.float()
    w = torch.softmax(log_p, 0)
    expected = (w[:, None] * grid**2).sum(0).sqrt().float()
    got = RLEPredictive(flow, q_distribution='gaussian', density='product').residual_rms()
    torch.testing.assert_close(got, expected, rtol=0.01, atol=0)


@pytest.mark.parametrize('design', ['residual', 'reparam'])
def test_residual_designs_predict_mu_and_sigma_times_residual_rms(design):
    model = RLEPredictive(random_flow(), design=design)
    mu, sigma = torch.randn(3, 4, 2), torch.rand(3, 4, 2)
    coords, rms = model.predictive(mu, sigma)
    assert coords is mu
    s = model.residual_rms()
    for c in range(2):
        torch.testing.assert_close(rms[..., c], sigma[..., c] * s[c])
    assert model.point(mu, sigma) is mu


def test_the_basic_design_pushes_mu_and_q_through_the_flow():
    flow = random_flow(seed=3)
    model = RLEPredictive(flow, design='basic', q_distribution='laplace', q_scale=1.5)
    torch.testing.assert_close(model.residual_rms(), torch.ones(2))
    mu, sigma = torch.randn(2, 1, 2) * 0.5, torch.rand(2, 1, 2) * 0.3 + 0.1
    coords, rms = model.predictive(mu, sigma)
    assert coords.shape == rms.shape == mu.shape
    u = torch.distributions.Laplace(0.0, 1.0).sample((40_000, 2))  # unit Laplace, seeded
    with torch.no_grad():
        for b in range(2):
            centre = flow(mu[b])[0]
            x = flow(mu[b] + 1.5 * sigma[b] * u)[0]
            torch.testing.assert_close(coords[b], centre)
            torch.testing.assert_close(
                rms[b, 0], ((x - centre) ** 2).mean(0).sqrt(), rtol=0.03, atol=0
            )
    torch.testing.assert_close(model.point(mu, sigma), coords)


def test_the_power_is_one_over_the_measured_virial_between_one_and_gamma():
    virial = ResidualMoment(2, momentum=0.0)  # its mean is the last batch's
    model = RLEPredictive(identity_flow(), design='reparam', flow_power=2.0, virial=virial)
    torch.testing.assert_close(model.power(), torch.full((2,), 2.0))  # before training
    virial.add(torch.tensor([0.8, 0.3]).expand(1, 1, 2))
    torch.testing.assert_close(model.power(), torch.tensor([1.25, 2.0]))
    # G = N(0, 1), so G^κ has RMS 1/√κ
    want = torch.tensor([1 / math.sqrt(1.25), 1 / math.sqrt(2.0)])
    torch.testing.assert_close(model.residual_rms(), want, rtol=5e-3, atol=0)
    virial.add(torch.tensor([1.6, 0.5]).expand(1, 1, 2))
    torch.testing.assert_close(model.power(), torch.tensor([1.0, 2.0]))
    assert RLEPredictive(identity_flow(), design='reparam').power() is None
    assert RLEPredictive(identity_flow(), density='product', flow_power=2.0).power() is None


def test_without_a_flow_mu_and_sigma_are_returned_unchanged():
    model = RLEPredictive(q_distribution='gaussian')
    mu, sigma = torch.randn(2, 3, 2), torch.rand(2, 3, 2)
    coords, rms = model.predictive(mu, sigma)
    assert coords is mu and rms is sigma and model.residual_rms() is None


def test_of_shares_the_loss_model_or_builds_one_without_a_flow():
    loss = RLELoss(q_distribution='gaussian')
    assert RLEPredictive.of(loss) is loss.predictive_model
    assert loss.predictive_model.flow is loss.flow_model  # the loss's own flow, not a copy
    loss.eval()
    assert loss.residual_rms() is RLEPredictive.of(loss).residual_rms()  # one cache
    other = RLEPredictive.of(nn.Module())
    assert other.flow is None and other.q_distribution == 'laplace'
    gaussian = nn.Module()
    gaussian.q_distribution = 'gaussian'
    assert RLEPredictive.of(gaussian).q_distribution == 'gaussian'


def test_residual_rms_is_cached_in_eval_mode_only_and_per_dtype():
    flow = random_flow()
    model = RLEPredictive(flow)
    rms = model.residual_rms()
    assert model.residual_rms() is rms
    model.clear_cache()
    again = model.residual_rms()
    assert again is not rms
    torch.testing.assert_close(again, rms, rtol=0, atol=0)
    flow.double()
    doubled = model.residual_rms()
    assert doubled.dtype == torch.float64
    torch.testing.assert_close(doubled.float(), rms, rtol=1e-5, atol=0)
    flow.float().train()
    first = model.residual_rms()
    assert model.residual_rms() is not first  # not cached while the flow trains
    flow.eval()
    assert model.residual_rms() is not first and model.residual_rms() is model.residual_rms()
