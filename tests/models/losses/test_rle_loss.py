"""RLELoss against independent formulas, MMPose's RLELoss, the official criterion,
normalisation of the exact density, and float64 gradcheck."""

import copy
import itertools
import math

import pytest
import torch
from mmpose.models.losses import RLELoss as MMPoseRLELoss

from mmpose_rle.models import RLELoss
from mmpose_rle.models.losses import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS
from tests.helpers import randomise_, scaling_realnvp

ALL = list(itertools.product(DESIGNS, Q_DISTRIBUTIONS, FORMULATIONS))


UNBOUNDED = dict(sigma_min=None, max_flow_input=None)


def make_loss(design='residual', q='laplace', formulation='mmpose', **kwargs) -> RLELoss:
    """A loss with a randomised flow and, unless given, the unbounded maths of the seed."""
    kwargs = {**UNBOUNDED, **kwargs}
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation, **kwargs)
    randomise_(loss.flow_model, std=0.2)
    return loss.double()


def make_batch(N=3, K=4, D=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.rand(N, K, D, generator=gen, dtype=torch.float64)
    target = pred + 0.1 * torch.randn(N, K, D, generator=gen, dtype=torch.float64)
    sigma = torch.randn(N, K, D, generator=gen, dtype=torch.float64)
    weight = (torch.rand(N, K, 1, generator=gen, dtype=torch.float64) > 0.3).double()
    return pred, sigma, target, weight


def grid_log_normaliser(loss: RLELoss, lim: float = 16.0, n: int = 641) -> float:
    """``log ∫ Q(x) G_φ(x) dx`` by the midpoint rule on a 2-D grid (float64)."""
    flow = copy.deepcopy(loss.flow_model).double()
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(-1, 2)
    with torch.no_grad():
        log_q = (
            -grid.abs().sum(1) - 2 * math.log(2)
            if loss.q_distribution == 'laplace'
            else -0.5 * (grid**2).sum(1) - math.log(2 * math.pi)
        )
        return math.log((flow.log_prob(grid) + log_q).exp().sum() * (2 * lim / (n - 1)) ** 2)


def reference(loss: RLELoss, pred, sigma_logit, target, weight):
    """The seed's equations, written per keypoint and coordinate (the exact residual
    design adds the log-normaliser, integrated on a grid)."""
    flow = loss.flow_model
    N, K, D = pred.shape
    log_z = (
        grid_log_normaliser(loss)
        if (loss.formulation, loss.design) == ('exact', 'residual')
        else 0.0
    )
    total = 0.0
    for n, k in itertools.product(range(N), range(K)):
        s = torch.sigmoid(sigma_logit[n, k])
        mu, g, w = pred[n, k], target[n, k], weight[n, k, 0]
        if loss.design == 'basic':
            z, log_det = flow.inverse(g[None])
            log_f, r = log_det[0], z[0] - mu
        else:
            r = mu - g
            eps = 0.0 if loss.formulation == 'official' else 1e-9
            log_f = flow.log_prob((r / (s + eps))[None])[0]
        for c in range(D):
            e = r[c] / (s[c] + 1e-9)
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
                    q = torch.log(s[c] / (1 / math.sqrt(2 * math.pi))) + abs(r[c]) / (
                        math.sqrt(2) * s[c] + 1e-9
                    )
                else:
                    q = torch.log(2 * s[c]) + abs(e)
                term = torch.log(s[c]) - log_f
            if loss.design != 'reparam':
                term = term + q
            total = total + w * term
    return total / N


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_matches_independent_formula(design, q, formulation):
    loss = make_loss(design, q, formulation, use_target_weight=True)
    pred, sigma, target, weight = make_batch()
    # the quasi-Monte Carlo log-normaliser of the exact residual design is accurate to ~1e-3
    tol = dict(rtol=0, atol=2e-3 * weight.sum().item()) if loss.normalised else {}
    torch.testing.assert_close(
        loss(pred, sigma, target, weight), reference(loss, pred, sigma, target, weight), **tol
    )


@pytest.mark.parametrize(
    'residual, q, use_weight, size_average',
    itertools.product([True, False], Q_DISTRIBUTIONS, [True, False], [True, False]),
)
def test_equals_mmpose_rle_loss(residual, q, use_weight, size_average):
    kwargs = dict(
        use_target_weight=use_weight, size_average=size_average, residual=residual, q_distribution=q
    )
    theirs = MMPoseRLELoss(**kwargs)
    randomise_(theirs.flow_model, std=0.2)
    ours = RLELoss(**kwargs)
    ours.flow_model.load_state_dict(theirs.flow_model.state_dict(), strict=True)
    pred, sigma, target, weight = (t.float() for t in make_batch(N=5, K=17, seed=1))
    # per-coordinate weights too
    for w in (weight, torch.rand(5, 17, 2)):
        torch.testing.assert_close(
            ours(pred, sigma, target, w), theirs(pred, sigma, target, w), rtol=0, atol=0
        )


def official_criterion(flow, pred, sigma_logit, target, weight):
    """Transcription of the official model's nf_loss and RLELoss (rlepose/models)."""
    sigma = sigma_logit.sigmoid()
    bar_mu = (pred - target) / sigma
    log_phi = flow.log_prob(bar_mu.reshape(-1, 2)).reshape(pred.shape[0], pred.shape[1], 1)
    nf_loss = torch.log(sigma) - log_phi
    nf_loss = nf_loss * weight[:, :, :1]
    amp = 1 / math.sqrt(2 * math.pi)
    log_q = torch.log(sigma / amp) + torch.abs(target - pred) / (math.sqrt(2) * sigma + 1e-9)
    loss = nf_loss + log_q * weight
    return loss.sum() / len(loss)


def test_official_formulation_equals_official_criterion():
    loss = make_loss(formulation='official', use_target_weight=True)
    pred, sigma, target, _ = make_batch(N=4, K=5)
    weight = torch.rand(4, 5, 2, dtype=torch.float64)  # differing x/y weights
    torch.testing.assert_close(
        loss(pred, sigma, target, weight),
        official_criterion(loss.flow_model, pred, sigma, target, weight),
    )


@pytest.mark.parametrize(
    'design, q',
    [
        ('residual', 'laplace'),
        ('residual', 'gaussian'),
        ('reparam', 'laplace'),
        ('basic', 'laplace'),
        ('basic', 'gaussian'),
    ],
)
def test_exact_formulation_is_a_normalised_density_of_the_target(design, q):
    """exp(−L) over μ_g integrates to 1 when L is the true NLL (each term once, and the
    residual design's Q·G_φ divided by its normaliser)."""
    loss = make_loss(design, q, 'exact', size_average=False)
    mu = torch.tensor([[[0.3, -0.2]]], dtype=torch.float64)
    logit = torch.tensor([[[-1.0, -0.3]]], dtype=torch.float64)
    lim, n = 10.0, 601
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(1, -1, 2)
    with torch.no_grad():
        nf, q_loss = loss.terms(mu.expand_as(grid), logit.expand_as(grid), grid)
        per_point = (nf + (0 if q_loss is None else q_loss)).sum(-1)
    mass = per_point.neg().exp().sum().item() * (2 * lim / (n - 1)) ** 2
    assert abs(mass - 1) < 5e-3


def test_mmpose_formulation_double_counts_flow_and_log_sigma():
    """Reparam: mmpose − exact = −(D − 1) log G_φ, the documented double count."""
    pred, sigma, target, _ = make_batch(N=1, K=1)
    mm, ex = make_loss('reparam', formulation='mmpose'), make_loss('reparam', formulation='exact')
    ex.flow_model.load_state_dict(mm.flow_model.state_dict())
    err = ((pred - target) / (sigma.sigmoid() + 1e-9)).reshape(-1, 2)
    log_g = mm.flow_model.log_prob(err).sum()
    diff = mm(pred, sigma, target) - ex(pred, sigma, target)
    torch.testing.assert_close(diff, -(2 - 1) * log_g)


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_gradcheck(design, q, formulation):
    loss = make_loss(design, q, formulation, use_target_weight=True)
    pred, sigma, target, weight = make_batch(N=2, K=2, seed=3)
    pred.requires_grad_(True)
    sigma.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, s: loss(p, s, target, weight), (pred, sigma))
    params = [p for p in loss.flow_model.parameters()][:4]
    out = loss(pred, sigma, target, weight)
    grads = torch.autograd.grad(out, params)
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


def test_zero_weight_keypoints_do_not_contribute():
    loss = make_loss(use_target_weight=True)
    pred, sigma, target, _ = make_batch(N=2, K=3)
    weight = torch.ones(2, 3, 1, dtype=torch.float64)
    weight[0, 1] = 0
    base = loss(pred, sigma, target, weight)
    target2 = target.clone()
    target2[0, 1] += 100.0
    torch.testing.assert_close(loss(pred, sigma, target2, weight), base)


def test_weight_shapes_are_equivalent():
    loss = make_loss(use_target_weight=True)
    pred, sigma, target, weight = make_batch()
    ref = loss(pred, sigma, target, weight)
    torch.testing.assert_close(loss(pred, sigma, target, weight[..., 0]), ref)
    torch.testing.assert_close(loss(pred, sigma, target, weight.expand(-1, -1, 2)), ref)


def test_residual_switch_maps_to_design():
    assert RLELoss(residual=False).design == 'reparam'
    assert RLELoss().design == 'residual' and RLELoss().residual
    assert RLELoss(design='basic').design == 'basic'


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(design='nope'), 'design'),
        (dict(formulation='paper'), 'formulation'),
        (dict(q_distribution='cauchy'), 'q_distribution'),
        (dict(design='reparam', residual=True), 'contradicts'),
        (dict(design='residual', residual=False), 'contradicts'),
    ],
)
def test_invalid_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RLELoss(**kwargs)


def test_bad_inputs_raise_clear_errors():
    loss = RLELoss(use_target_weight=True)
    p = torch.zeros(2, 3, 2)
    with pytest.raises(ValueError, match='same shape'):
        loss(p, p, torch.zeros(2, 4, 2), torch.ones(2, 3, 1))
    with pytest.raises(ValueError, match='needs target_weight'):
        loss(p, p, p)
    with pytest.raises(ValueError, match='target_weight must have shape'):
        loss(p, p, p, torch.ones(2, 3, 5))
    with pytest.raises(ValueError, match='3-D'):
        loss(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), torch.ones(2, 3, 1))


def test_three_d_keypoints_with_a_three_d_flow():
    loss = RLELoss(flow=dict(type='mmpose_rle.RealNVP', dim=3)).double()
    randomise_(loss.flow_model, std=0.2)
    pred, sigma, target, _ = make_batch(D=3)
    out = loss(pred, sigma, target)
    sig = sigma.sigmoid()
    e = (pred - target) / (sig + 1e-9)
    log_g = loss.flow_model.log_prob(e.reshape(-1, 3)).reshape(3, 4, 1)
    expected = (torch.log(sig) - log_g + torch.log(2 * sig) + e.abs()).sum() / 3
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(
    'design, q, formulation',
    [
        ('residual', 'laplace', 'mmpose'),
        ('residual', 'laplace', 'official'),
        ('residual', 'gaussian', 'exact'),
        ('reparam', 'laplace', 'mmpose'),
    ],
)
def test_residual_rms_matches_grid_integration(design, q, formulation):
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation)
    randomise_(loss.flow_model, std=0.2)
    lim, n = 14.0, 701
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(-1, 2)
    flow = copy.deepcopy(loss.flow_model).double()
    with torch.no_grad():
        log_density = flow.log_prob(grid)
        if design == 'reparam':  # G^D/Z before training has measured the virial
            log_density = 2 * log_density
        if design == 'residual' and formulation == 'exact':  # Q·G/Z, else G alone
            log_density = log_density + (
                -grid.abs().sum(1) if q == 'laplace' else -0.5 * (grid**2).sum(1)
            )
    w = torch.softmax(log_density, 0)
    expected = (w[:, None] * grid**2).sum(0).sqrt()
    loss.eval()
    rms = loss.residual_rms()
    torch.testing.assert_close(rms.double(), expected, rtol=0.01, atol=0)
    assert loss.residual_rms() is rms  # cached in eval mode
    loss.load_state_dict(loss.state_dict())
    assert loss.residual_rms() is not rms  # dropped when a state dict is loaded
    rms = loss.residual_rms()
    loss.train()
    assert loss.residual_rms() is not rms  # and in training, where the flow changes


def test_residual_rms_is_one_for_the_basic_design():
    torch.testing.assert_close(RLELoss(design='basic').residual_rms(), torch.ones(2))


def gaussian_reparam_loss(**kwargs) -> RLELoss:
    """``'reparam'`` with G = N(0, diag(b²)), ``b = e^{3·(−0.5, −0.2)}``: its virial at
    ``x̄`` is ``x̄² / b²``."""
    loss = RLELoss(design='reparam', rms_momentum=0.0, **kwargs)
    loss.flow_model.load_state_dict(scaling_realnvp([-0.5, -0.2]).state_dict())
    return loss


GAUSSIAN_B = torch.exp(3 * torch.tensor([-0.5, -0.2]))


def reparam_batch(error: torch.Tensor):
    """``pred, σ logits, target`` with ``σ̂ = 0.5`` and ``x̄ = error``."""
    pred = torch.rand(error.shape, generator=torch.Generator().manual_seed(1))
    return pred, torch.zeros_like(pred), pred - 0.5 * error


def test_reparam_measures_the_virial_and_reports_the_rms_it_implies():
    # κ_c = b_c² / E[x̄_c²] and G^κ = N(0, b²/κ): s is the RMS of the residuals it saw
    loss = gaussian_reparam_loss()
    gen = torch.Generator().manual_seed(0)
    error = torch.randn(64, 4, 2, generator=gen) * GAUSSIAN_B * torch.tensor([0.8, 0.9])
    loss.train()
    loss(*reparam_batch(error))
    mean_square = (error**2).mean((0, 1))
    torch.testing.assert_close(loss.residual_virial.mean(), mean_square / GAUSSIAN_B**2)
    loss.eval()
    torch.testing.assert_close(loss.residual_rms(), mean_square.sqrt(), rtol=5e-3, atol=0)
    # before any training step: G^2 = N(0, b²/2)
    fresh = gaussian_reparam_loss().eval()
    torch.testing.assert_close(fresh.residual_rms(), GAUSSIAN_B / math.sqrt(2), rtol=5e-3, atol=0)


def test_the_virial_skips_evaluation_steps_and_keypoints_beyond_the_bounds():
    loss = gaussian_reparam_loss()
    error = torch.randn(8, 3, 2, generator=torch.Generator().manual_seed(2)) * GAUSSIAN_B
    loss.eval()
    loss(*reparam_batch(error))
    loss.train()
    with torch.no_grad():
        loss(*reparam_batch(error))
    assert loss.residual_virial.mean() is None
    wild = error.clone()
    wild[0, 0] = 1e3  # |x̄| beyond max_flow_input
    loss(*reparam_batch(wild))
    kept = torch.ones(8, 3, 1)
    kept[0, 0] = 0
    expected = (kept * error**2).sum((0, 1)) / kept.sum() / GAUSSIAN_B**2
    torch.testing.assert_close(loss.residual_virial.mean(), expected)


def test_only_reparam_with_a_repeated_flow_term_measures_the_virial():
    assert RLELoss(design='reparam').residual_virial is not None
    assert RLELoss(design='reparam', formulation='official').residual_virial is not None
    for kwargs in (
        dict(),
        dict(design='basic'),
        dict(design='reparam', formulation='exact'),
        dict(design='reparam', rms_source='moment'),
    ):
        assert RLELoss(**kwargs).residual_virial is None, kwargs


def test_the_measured_virial_travels_with_the_state_dict():
    loss = gaussian_reparam_loss()
    error = torch.randn(16, 2, 2, generator=torch.Generator().manual_seed(3)) * GAUSSIAN_B * 0.8
    loss(*reparam_batch(error))
    state = loss.state_dict()
    assert 'residual_virial.mean_square' in state
    other = gaussian_reparam_loss()
    other.load_state_dict(state)
    torch.testing.assert_close(other.eval().residual_rms(), loss.eval().residual_rms())
