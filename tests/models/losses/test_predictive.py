"""The predictive distribution: weighted points against quadrature, and the basic design's
push-forward against affine maps and large Monte Carlo samples of rough flows."""

import math

import pytest
import torch
from scipy import integrate, stats
from torch import nn

from mmpose_rle.models import RealNVP
from mmpose_rle.models.losses.predictive import (
    density_samples,
    flow_virial,
    pushforward_rms,
    q_log_density,
    weighted_coverage,
    weighted_rms,
)
from mmpose_rle.models.losses.quadrature import qmc_nodes
from tests.helpers import randomise_


class Scaled(nn.Module):
    """The flow ``x = k z`` of a standard normal latent: ``G = N(0, k² I)``."""

    def __init__(self, k: float, dim: int = 2) -> None:
        super().__init__()
        self.k, self.dim = k, dim
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, z):
        return self.k * z, torch.full((len(z),), self.dim * math.log(self.k))

    def log_prob(self, x):
        return stats_normal_log_prob(x, self.k)


def stats_normal_log_prob(x: torch.Tensor, k: float) -> torch.Tensor:
    d = x.shape[-1]
    return -0.5 * (x**2).sum(-1) / k**2 - d * (math.log(k) + 0.5 * math.log(2 * math.pi))


class Affine(nn.Module):
    """x = A z + b, returned like a flow's forward: (x, log-det)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, z):
        return z @ self.a.t() + self.b, torch.zeros(len(z))


def laplace_times_normal_rms(k: float) -> float:
    """RMS of the 1-D density ∝ e^{−|x|} φ(x / k), by quadrature."""
    num = integrate.quad(lambda x: x * x * math.exp(-abs(x)) * stats.norm.pdf(x / k), -60, 60)
    den = integrate.quad(lambda x: math.exp(-abs(x)) * stats.norm.pdf(x / k), -60, 60)
    return math.sqrt(num[0] / den[0])


def test_q_log_density_integrates_to_one():
    for q, scale in (('laplace', 1.0), ('laplace', math.sqrt(2)), ('gaussian', 1.0)):
        x = torch.linspace(-40, 40, 40001, dtype=torch.float64)[:, None]
        total = torch.trapezoid(q_log_density(x, q, scale).exp(), x[:, 0])
        assert abs(total.item() - 1) < 1e-6


def test_flow_density_gives_the_flow_rms():
    x, log_w = density_samples(Scaled(2.5), 'flow', 'laplace')
    torch.testing.assert_close(weighted_rms(x, log_w), torch.full((2,), 2.5), rtol=5e-3, atol=0)


@pytest.mark.parametrize('k', [0.3, 1.0, 10.0])
def test_product_density_against_quadrature_for_narrow_and_wide_flows(k):
    """Q·G with G much narrower or much wider than Q: both proposals are needed."""
    x, log_w = density_samples(Scaled(k), 'product', 'laplace')
    expected = laplace_times_normal_rms(k)
    torch.testing.assert_close(
        weighted_rms(x, log_w), torch.full((2,), expected), rtol=1e-2, atol=0
    )


def test_coverage_of_a_gaussian_and_a_laplace():
    x, log_w = density_samples(Scaled(1.7), 'flow', 'gaussian')
    for k in (1.0, 2.0):
        got = weighted_coverage(x, log_w, k)
        torch.testing.assert_close(got, torch.full((2,), math.erf(k / math.sqrt(2))), **TOL)
    # a (nearly) Laplace product: G very wide, Q unit Laplace of RMS √2
    x, log_w = density_samples(Scaled(200.0), 'product', 'laplace')
    for k in (1.0, 2.0):
        got = weighted_coverage(x, log_w, k)
        expected = 1 - math.exp(-math.sqrt(2) * k)
        torch.testing.assert_close(got, torch.full((2,), expected), **TOL)


TOL = dict(rtol=0, atol=5e-3)


def test_a_power_per_coordinate_turns_a_gaussian_flow_into_its_power():
    # G^κ of N(0, k²) is N(0, k²/κ): the same shape, √κ narrower
    k, power = 1.7, torch.tensor([2.0, 1.5])
    x, log_w = density_samples(Scaled(k), 'flow', 'laplace', power=power)
    assert log_w.shape == x.shape
    torch.testing.assert_close(weighted_rms(x, log_w), k / power.sqrt(), rtol=5e-3, atol=0)
    for c in (1.0, 2.0):
        want = torch.full((2,), math.erf(c / math.sqrt(2)))
        torch.testing.assert_close(weighted_coverage(x, log_w, c), want, **TOL)


def test_a_power_applies_to_the_flow_density_only():
    with pytest.raises(ValueError, match="'flow' density"):
        density_samples(Scaled(1.0), 'product', 'laplace', power=torch.full((2,), 2.0))


def test_flow_virial_against_finite_differences_and_a_gaussian():
    flow = randomise_(RealNVP(), std=0.2).double()
    x = torch.randn(16, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    v = flow_virial(flow, x)
    assert not v.requires_grad
    h = 1e-6
    with torch.no_grad():
        for c in range(2):
            step = torch.zeros(2, dtype=torch.float64)
            step[c] = h
            slope = (flow.log_prob(x + step) - flow.log_prob(x - step)) / (2 * h)
            torch.testing.assert_close(v[:, c], -x[:, c] * slope, rtol=0, atol=1e-6)
    # −∂ log N(0, k²) = x / k²
    torch.testing.assert_close(flow_virial(Scaled(2.0), x), x**2 / 4.0)


def test_pushforward_is_exact_for_an_affine_map():
    gen = torch.Generator().manual_seed(0)
    for dim, q, var in ((2, 'laplace', 2.0), (3, 'gaussian', 1.0)):
        a, b = torch.randn(dim, dim, generator=gen), torch.randn(dim, generator=gen)
        mu, std = torch.rand(7, dim, generator=gen), torch.rand(7, dim, generator=gen)
        coords, rms = pushforward_rms(Affine(a, b), mu, std, qmc_nodes(dim, q, 512))
        torch.testing.assert_close(coords, mu @ a.t() + b)
        expected = ((a[None] ** 2) * (std[:, None, :] ** 2) * var).sum(-1).sqrt()
        torch.testing.assert_close(rms, expected, rtol=0.02, atol=0)


@pytest.mark.parametrize('gain', [1.0, 2.0])
@pytest.mark.parametrize('sigma', [0.05, 0.2])
def test_pushforward_of_rough_flows_against_monte_carlo(gain, sigma):
    """Rough flows (far from affine): 1024 quasi-random nodes against 100k random draws."""
    torch.manual_seed(int(gain * 10 + sigma * 100))
    flow = RealNVP(init_gain=gain)
    mu = torch.rand(2, 2)
    scale = torch.full((2, 2), sigma)
    with torch.no_grad():
        _, rms = pushforward_rms(flow, mu, scale, qmc_nodes(2, 'laplace', 1024))
        u = torch.distributions.Laplace(0.0, 1.0).sample((100_000, 2))
        for i in range(len(mu)):
            centre = flow(mu[i : i + 1])[0]
            mapped = flow(mu[i] + scale[i] * u)[0]
            truth = ((mapped - centre) ** 2).mean(0).sqrt()
            torch.testing.assert_close(rms[i], truth, rtol=0.03, atol=0)
