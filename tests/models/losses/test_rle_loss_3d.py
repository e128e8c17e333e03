"""RLELoss at D = 3 (3-D lifting): every design × Q × formulation against an independent
formula, the exact formulation as a normalised density of 3-D targets, gradients, the
predictive RMS, and the bounded continuation."""

import copy
import itertools
import math

import pytest
import torch

from mmpose_rle.models import RLELoss
from mmpose_rle.models.losses import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS
from tests.helpers import randomise_

ALL = list(itertools.product(DESIGNS, Q_DISTRIBUTIONS, FORMULATIONS))
UNBOUNDED = dict(sigma_min=None, max_flow_input=None)
#: A small 3-D flow keeps the grid integrals below fast; the maths does not depend on width.
SMALL_FLOW = dict(type='mmpose_rle.RealNVP', dim=3, num_layers=4, hidden_channels=16)


def make_loss(design='residual', q='laplace', formulation='mmpose', flow=SMALL_FLOW, **kwargs):
    kwargs = {**UNBOUNDED, **kwargs}
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation, flow=flow, **kwargs)
    randomise_(loss.flow_model, std=0.2)
    return loss.double()


def make_batch(N=3, K=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(N, K, 3, generator=gen, dtype=torch.float64)  # normalised 3-D targets
    target = pred + 0.2 * torch.randn(N, K, 3, generator=gen, dtype=torch.float64)
    sigma = torch.randn(N, K, 3, generator=gen, dtype=torch.float64)
    weight = torch.rand(N, K, 3, generator=gen, dtype=torch.float64)  # per-coordinate
    return pred, sigma, target, weight


def sobol_log_normaliser(loss: RLELoss, num: int = 2**16) -> float:
    """``log E_Q[G_φ]`` by quasi-Monte Carlo on other nodes than the loss's (another seed,
    16 times as many, the inverse CDF of torch.distributions)."""
    u = torch.quasirandom.SobolEngine(3, scramble=True, seed=11).draw(num, dtype=torch.float64)
    unit = torch.distributions.Laplace(0.0, 1.0)
    if loss.q_distribution == 'gaussian':
        unit = torch.distributions.Normal(0.0, 1.0)
    x = unit.icdf(u.clamp(1e-9, 1 - 1e-9))
    with torch.no_grad():
        log_g = copy.deepcopy(loss.flow_model).double().log_prob(x)
    return (torch.logsumexp(log_g, 0) - math.log(num)).item()


def reference(loss: RLELoss, pred, sigma_logit, target, weight):
    """The loss written per keypoint and coordinate (module docstring of RLELoss), D = 3."""
    flow = loss.flow_model
    N, K, D = pred.shape
    normalised = (loss.formulation, loss.design) == ('exact', 'residual')
    log_z = sobol_log_normaliser(loss) if normalised else 0.0
    total = 0.0
    for n, k in itertools.product(range(N), range(K)):
        s = torch.sigmoid(sigma_logit[n, k])
        mu, g = pred[n, k], target[n, k]
        if loss.design == 'basic':
            z, log_det = flow.inverse(g[None])
            log_f, r = log_det[0], z[0] - mu
        else:
            r = mu - g
            eps = 0.0 if loss.formulation == 'official' else 1e-9
            log_f = flow.log_prob((r / (s + eps))[None])[0]
        for c in range(D):
            e = r[c] / (s[c] + 1e-9)
            w = weight[n, k, c]
            if loss.formulation == 'exact':
                q = (
                    math.log(2) + abs(e)
                    if loss.q_distribution == 'laplace'
                    else 0.5 * math.log(2 * math.pi) + e**2 / 2
                )
                term = torch.log(s[c]) - log_f / D + log_z / D
            else:
                if loss.q_distribution == 'gaussian':
                    q = torch.log(math.sqrt(2 * math.pi) * s[c]) + e**2 / 2
                elif loss.formulation == 'official':
                    q = torch.log(s[c] * math.sqrt(2 * math.pi)) + abs(r[c]) / (
                        math.sqrt(2) * s[c] + 1e-9
                    )
                else:
                    q = torch.log(2 * s[c]) + abs(e)
                # the official criterion weights the flow part by the first column only
                w_nf = weight[n, k, 0] if loss.formulation == 'official' else w
                term = w_nf / w * (torch.log(s[c]) - log_f) if w > 0 else 0.0
            if loss.design != 'reparam':
                term = term + q
            total = total + w * term
    return total / N


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_matches_independent_formula(design, q, formulation):
    loss = make_loss(design, q, formulation, use_target_weight=True)
    pred, sigma, target, weight = make_batch()
    # two quasi-Monte Carlo estimates of log Z_φ agree to ~1e-4
    tol = dict(rtol=0, atol=1e-3 * weight.sum().item()) if loss.normalised else {}
    torch.testing.assert_close(
        loss(pred, sigma, target, weight), reference(loss, pred, sigma, target, weight), **tol
    )


def test_default_flow_matches_the_formula_too():
    """The shipped 3-D flow (6 layers, width 64) in the default loss."""
    loss = RLELoss(flow=dict(type='mmpose_rle.RealNVP', dim=3), use_target_weight=True).double()
    randomise_(loss.flow_model, std=0.2)
    pred, sigma, target, weight = make_batch(seed=1)
    torch.testing.assert_close(
        loss(pred, sigma, target, weight), reference(loss, pred, sigma, target, weight)
    )


def importance_mass(loss: RLELoss, mu, logit, num: int = 2**17) -> float:
    """``∫ exp(−L(μ_g)) dμ_g`` over 3-D labels, by quasi-Monte Carlo importance sampling
    from a product of Cauchy distributions around ``μ̂`` (heavier tails than any design's
    density; other nodes than the loss's own normaliser)."""
    scale = 1.0
    engine = torch.quasirandom.SobolEngine(3, scramble=True, seed=7)
    u = engine.draw(num, dtype=torch.float64).clamp(1e-9, 1 - 1e-9)
    x = mu.reshape(1, 3) + scale * torch.tan(math.pi * (u - 0.5))
    log_p = (-torch.log(math.pi * scale * (1 + ((x - mu.reshape(1, 3)) / scale) ** 2))).sum(1)
    with torch.no_grad():
        nf, q = loss.terms(mu.expand(1, num, 3), logit.expand(1, num, 3), x[None])
        log_density = -(nf + (0 if q is None else q)).sum(-1)[0]
    return torch.exp(log_density - log_p).mean().item()


@pytest.mark.parametrize(
    'design, q',
    [
        ('residual', 'laplace'),
        ('residual', 'gaussian'),
        ('reparam', 'laplace'),
        ('basic', 'gaussian'),
    ],
)
def test_exact_formulation_is_a_normalised_density_of_3d_targets(design, q):
    loss = make_loss(design, q, 'exact', size_average=False)
    mu = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    logit = torch.tensor([0.5, 1.0, 0.8], dtype=torch.float64)
    assert abs(importance_mass(loss, mu, logit) - 1) < 0.02


def test_mmpose_formulation_counts_the_flow_three_times():
    """Reparam: mmpose − exact = −(D − 1) log G_φ with D = 3."""
    pred, sigma, target, _ = make_batch(N=1, K=1)
    mm, ex = make_loss('reparam', formulation='mmpose'), make_loss('reparam', formulation='exact')
    ex.flow_model.load_state_dict(mm.flow_model.state_dict())
    err = ((pred - target) / (sigma.sigmoid() + 1e-9)).reshape(-1, 3)
    log_g = mm.flow_model.log_prob(err).sum()
    torch.testing.assert_close(mm(pred, sigma, target) - ex(pred, sigma, target), -2 * log_g)


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_gradcheck(design, q, formulation):
    loss = make_loss(design, q, formulation, use_target_weight=True)
    pred, sigma, target, weight = make_batch(N=2, K=2, seed=3)
    pred.requires_grad_(True)
    sigma.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, s: loss(p, s, target, weight), (pred, sigma))


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_outliers_are_bounded_and_pulled_in(design, q, formulation):
    """Default bounds: a 3-D label 30 units away gives a finite loss and finite gradients
    that pull μ̂ toward the label (in the latent space in the basic design)."""
    loss = make_loss(design, q, formulation, sigma_min=1e-3, max_flow_input=20.0)
    pred = torch.zeros(1, 2, 3, dtype=torch.float64, requires_grad=True)
    logit = torch.full((1, 2, 3), -3.0, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[[30.0, -30.0, 20.0], [0.01, 0.02, -0.01]]], dtype=torch.float64)
    value = loss(pred, logit, target)
    g_pred, g_logit = torch.autograd.grad(value, (pred, logit))
    assert torch.isfinite(value) and torch.isfinite(g_pred).all() and torch.isfinite(g_logit).all()
    goal = target if design != 'basic' else loss.flow_model.inverse(target.reshape(-1, 3))[0]
    toward = -g_pred.reshape(-1, 3)[0] * (goal.reshape(-1, 3)[0] - 0.0)
    assert (toward > 0).all()


def test_label_box_is_harmless_for_normalised_3d_targets():
    """The basic design's label box (|μ_g − 0.5| ≤ 20, written for 2-D crops) never
    touches root-relative normalised 3-D labels: the bounded loss equals the unbounded one."""
    bounded = make_loss('basic', sigma_min=1e-3, max_flow_input=20.0)
    free = make_loss('basic')
    free.flow_model.load_state_dict(bounded.flow_model.state_dict())
    pred, sigma, target, _ = make_batch(N=4, K=16, seed=5)
    target = target * 4  # labels up to about ±12 standard deviations
    torch.testing.assert_close(bounded(pred, sigma, target), free(pred, sigma, target))


@pytest.mark.parametrize(
    'design, q, formulation',
    [
        ('residual', 'laplace', 'mmpose'),
        ('residual', 'gaussian', 'exact'),
        ('reparam', 'laplace', 'official'),
    ],
)
def test_residual_rms_matches_a_3d_grid(design, q, formulation):
    loss = make_loss(design, q, formulation).float()
    lim, n = 14.0, 57
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing='ij'), -1).reshape(-1, 3)
    with torch.no_grad():
        log_density = copy.deepcopy(loss.flow_model).double().log_prob(grid)
        if design == 'reparam':  # G^D/Z before training has measured the virial
            log_density = 3 * log_density
        if design == 'residual' and formulation == 'exact':  # Q·G/Z, else G alone
            log_density = log_density + (
                -grid.abs().sum(1) if q == 'laplace' else -0.5 * (grid**2).sum(1)
            )
    w = torch.softmax(log_density, 0)
    expected = (w[:, None] * grid**2).sum(0).sqrt()
    rms = loss.eval().residual_rms()
    assert rms.shape == (3,)
    torch.testing.assert_close(rms.double(), expected, rtol=0.02, atol=0)


def test_predictive_at_three_dimensions():
    mu = torch.randn(2, 5, 3, dtype=torch.float64)
    sigma = torch.rand(2, 5, 3, dtype=torch.float64) * 0.3 + 0.01
    residual = make_loss('residual').eval()
    coords, rms = residual.predictive(mu, sigma)
    torch.testing.assert_close(coords, mu)
    torch.testing.assert_close(rms, sigma * residual.residual_rms().double())
    basic = make_loss('basic').eval()
    coords, rms = basic.predictive(mu, sigma)
    torch.testing.assert_close(coords, basic.flow_model(mu.reshape(-1, 3))[0].reshape(mu.shape))
    assert rms.shape == mu.shape and (rms > 0).all()


class Narrowed(torch.nn.Module):
    """The flow's density narrowed by ``1/k``: ``G_k(x) = k^D G(k x)``."""

    def __init__(self, flow: torch.nn.Module, k: float) -> None:
        super().__init__()
        self.flow, self.k, self.dim = flow, k, flow.dim

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        return self.flow.log_prob(self.k * x) + self.dim * math.log(self.k)


@pytest.mark.parametrize(
    'design, formulation, dim, shift',
    [
        ('residual', 'mmpose', 2, 0.0),  # (2D − D²) log k
        ('residual', 'mmpose', 3, -3.0),
        ('residual', 'official', 3, -3.0),
        ('reparam', 'mmpose', 3, -6.0),  # (D − D²) log k
        ('reparam', 'exact', 3, 0.0),  # a true likelihood does not care
    ],
)
def test_scale_shift_between_sigma_and_flow(design, formulation, dim, shift):
    """σ̂ → kσ̂ with the flow narrowed by 1/k, at zero residual (so that Q's term is 0):
    the per-keypoint loss moves by ``shift · log k``. At D = 3 the references' counting
    rewards a large σ̂ and a narrow flow (RLELiftingHead's docstring)."""
    flow = dict(type='mmpose_rle.RealNVP', dim=dim, num_layers=4, hidden_channels=16)
    loss = make_loss(design, 'laplace', formulation, flow=flow, size_average=False)
    pred = torch.randn(1, 5, dim, dtype=torch.float64)
    sigma = torch.rand(1, 5, dim, dtype=torch.float64) * 0.3 + 0.05
    k = 2.5
    base = loss(pred, torch.logit(sigma), pred)
    loss.flow_model = Narrowed(loss.flow_model, k)
    moved = loss(pred, torch.logit(k * sigma), pred)
    torch.testing.assert_close(moved - base, torch.tensor(5 * shift * math.log(k)).double())
