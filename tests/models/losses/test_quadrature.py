"""Quasi-Monte Carlo nodes and estimates against closed forms and 1-D quadrature."""

import math

import pytest
import torch
from scipy import stats

from mmpose_rle.models import RealNVP
from mmpose_rle.models.losses.quadrature import log_normaliser, normaliser_nodes, qmc_nodes


def identity_flow() -> RealNVP:
    """A RealNVP whose map is exactly the identity (s = tanh(0) = 0, t = 0)."""
    flow = RealNVP()
    with torch.no_grad():
        for net in (*flow.s, *flow.t):
            net[4].weight.zero_()
            net[4].bias.zero_()
    return flow


@pytest.mark.parametrize(
    'distribution, cdf', [('laplace', stats.laplace.cdf), ('gaussian', stats.norm.cdf)]
)
def test_nodes_follow_the_distribution(distribution, cdf):
    nodes = qmc_nodes(2, distribution, 4096).double()
    assert torch.isfinite(nodes).all()
    for c in range(2):
        ks = stats.kstest(nodes[:, c].numpy(), cdf).statistic
        assert ks < 5e-3  # QMC: far below the 1/sqrt(M) ≈ 0.016 of random draws
    var = 2.0 if distribution == 'laplace' else 1.0
    torch.testing.assert_close(
        nodes.var(0), torch.full((2,), var, dtype=torch.float64), rtol=0.02, atol=0
    )
    assert torch.equal(nodes, qmc_nodes(2, distribution, 4096).double())  # deterministic


def test_log_normaliser_of_a_gaussian_flow_and_a_laplace_q():
    """∫ ½ e^{−|x|} φ(x) dx = e^{1/2} Φ(−1) per coordinate, so Z = (e^{1/2} Φ(−1))² in 2-D."""
    expected = 2 * math.log(math.exp(0.5) * stats.norm.cdf(-1))
    got = log_normaliser(identity_flow(), qmc_nodes(2, 'laplace', 4096)).item()
    assert abs(got - expected) < 2e-3


@pytest.mark.parametrize('q', ['laplace', 'gaussian'])
def test_proposal_nodes_give_the_same_normaliser(q):
    # Gaussian Q: ∫ φ(x)² dx = 1/(2√π) per coordinate
    per_coordinate = (
        math.exp(0.5) * stats.norm.cdf(-1) if q == 'laplace' else 0.5 / math.sqrt(math.pi)
    )
    got = log_normaliser(identity_flow(), *normaliser_nodes(2, q, 4096)).item()
    assert abs(got - 2 * math.log(per_coordinate)) < 2e-3


class FarGaussian(torch.nn.Module):
    """``G = N((m, 0), s² I)``: a flow's mass far out in the first coordinate."""

    def __init__(self, m: float = 9.0, s: float = 0.5) -> None:
        super().__init__()
        self.m, self.s = m, s

    def log_prob(self, x):
        shifted = x - torch.tensor([self.m, 0.0], dtype=x.dtype)
        return (
            -0.5 * (shifted**2).sum(-1) / self.s**2 - 2 * math.log(self.s) - math.log(2 * math.pi)
        )


def laplace_times_normal(m: float, s: float) -> float:
    """∫ ½ e^{−|x|} N(x; m, s²) dx in closed form."""
    a = math.exp(s * s / 2 - m) * stats.norm.cdf(m / s - s)
    b = math.exp(s * s / 2 + m) * stats.norm.cdf(-m / s - s)
    return 0.5 * (a + b)


def test_the_proposal_sees_mass_far_in_the_tails():
    """G far out in a Laplace Q's tail: the wide proposal's nodes reach it, Q's own thin out."""
    flow = FarGaussian()
    expected = math.log(laplace_times_normal(9.0, 0.5) * laplace_times_normal(0.0, 0.5))
    wide = log_normaliser(flow, *normaliser_nodes(2, 'laplace', 4096)).item()
    own = log_normaliser(flow, qmc_nodes(2, 'laplace', 4096)).item()
    assert abs(wide - expected) < 0.05
    assert abs(own - expected) > 0.2


def test_log_normaliser_has_gradients_for_the_flow():
    flow = RealNVP()
    log_normaliser(flow, qmc_nodes(2, 'gaussian', 256)).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in flow.parameters())


def test_unknown_distribution_raises():
    with pytest.raises(ValueError, match='laplace'):
        qmc_nodes(2, 'cauchy', 16)
