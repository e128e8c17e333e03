"""The loss beyond its bounds: signs of the unbounded loss, documented gradient bounds,
continuity at the bounds, and MMPose's operations on ordinary inputs."""

import itertools

import pytest
import torch
from mmpose.models.losses import RLELoss as MMPoseRLELoss

from mmpose_rle.models import RLELoss
from mmpose_rle.models.losses import DESIGNS, FORMULATIONS, Q_DISTRIBUTIONS
from mmpose_rle.models.losses.bounded_terms import clip_to_box
from tests.helpers import randomise_

ALL = list(itertools.product(DESIGNS, Q_DISTRIBUTIONS, FORMULATIONS))
ERRORS = [1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.4, 1.0, 10.0, 1000.0]
LOGITS = [-30.0, -16.0, -8.0, -6.0, -4.0, -2.0, 0.0, 4.0, 8.0]
DIRECTIONS = [(1.0, 0.3), (-0.7, 1.0), (0.2, -1.0)]
TARGET = torch.tensor([[[0.5, 0.5]]])


# log Z_φ of the exact residual design does not depend on the prediction: few nodes do
FEW = dict(normaliser_points=64)


def bounded_and_unbounded(design, q, formulation, seed=0):
    """Our default (bounded) loss and the same maths unbounded in float64."""
    ours = RLELoss(design=design, q_distribution=q, formulation=formulation, **FEW)
    randomise_(ours.flow_model, std=0.05, seed=seed)
    ref = RLELoss(
        design=design,
        q_distribution=q,
        formulation=formulation,
        sigma_min=None,
        max_flow_input=None,
        **FEW,
    ).double()
    ref.flow_model.load_state_dict(ours.flow_model.state_dict())
    return ours, ref


def grads(loss, pred, logit, target=TARGET, weight=None):
    pred = pred.clone().requires_grad_()
    logit = logit.clone().requires_grad_()
    args = (target.to(pred),) if weight is None else (target.to(pred), weight)
    out = loss(pred, logit, *args)
    out.backward()
    return out.detach(), pred.grad, logit.grad


def normalised_residual(loss, pred, logit):
    """x̄ = r / σ̂ in float64 (r = μ̂ − μ_g, or f⁻¹(μ_g) − μ̂ in the basic design)."""
    with torch.no_grad():
        target = TARGET.double()
        if loss.design == 'basic':
            z, _ = loss.flow_model.double().inverse(target.reshape(-1, 2))
            loss.flow_model.float()
            r = z.reshape(1, 1, 2) - pred.double()
        else:
            r = pred.double() - target
        return r, r / logit.double().sigmoid()


def grid_points():
    for e, logit, d in itertools.product(ERRORS, LOGITS, DIRECTIONS):
        yield TARGET + e * torch.tensor([[d]]), torch.full((1, 1, 2), logit)


def pulls_and_widens(loss, pred, logit, g_pred, g_logit) -> bool:
    """μ̂ pulled toward the label on every coordinate; the σ̂ of the coordinate with the
    largest |x̄| pushed up."""
    r, xbar = normalised_residual(loss, pred, logit)
    toward = torch.sign(r) if loss.design != 'basic' else -torch.sign(r)
    pulled = ((torch.sign(g_pred.double()) == toward) | (toward == 0)).all()
    return bool(pulled) and g_logit.flatten()[xbar.abs().argmax()] < 0


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_gradient_signs_are_the_unbounded_losses(design, q, formulation):
    """Inside the box (|x̄| ≤ B, any σ̂, below the floor too) every gradient has the
    unbounded loss's sign; beyond it μ̂ is pulled toward the label and σ̂ widened, which is
    also the unbounded loss's sign wherever that loss itself pulls and widens."""
    ours, ref = bounded_and_unbounded(design, q, formulation)
    checked = dict(inside=0, outside=0, agree=0)
    for pred, logit in grid_points():
        out, g_pred, g_logit = grads(ours, pred, logit)
        assert (
            torch.isfinite(out) and torch.isfinite(g_pred).all() and torch.isfinite(g_logit).all()
        ), (pred, logit)
        _, r_pred, r_logit = grads(ref, pred.double(), logit.double())
        if not (torch.isfinite(r_pred).all() and torch.isfinite(r_logit).all()):
            continue
        _, xbar = normalised_residual(ours, pred, logit)
        same = (torch.sign(g_pred.double()) == torch.sign(r_pred)).all() and (
            torch.sign(g_logit.double()) == torch.sign(r_logit)
        ).all()
        if xbar.abs().max() <= ours.max_flow_input:
            checked['inside'] += 1
            assert same, (pred, logit, g_pred, r_pred, g_logit, r_logit)
        else:
            checked['outside'] += 1
            assert pulls_and_widens(ours, pred, logit, g_pred, g_logit), (pred, logit)
            if pulls_and_widens(ours, pred, logit, r_pred, r_logit):
                checked['agree'] += 1
                assert same, (pred, logit, g_pred, r_pred, g_logit, r_logit)
    assert checked['inside'] > 100 and checked['outside'] > 50 and checked['agree'] > 20


@pytest.mark.parametrize('residual, q', itertools.product([True, False], Q_DISTRIBUTIONS))
def test_signs_against_mmposes_own_loss_wherever_it_is_finite(residual, q):
    ours = RLELoss(residual=residual, q_distribution=q)
    randomise_(ours.flow_model, std=0.05)
    theirs = MMPoseRLELoss(residual=residual, q_distribution=q)
    theirs.flow_model.load_state_dict(ours.flow_model.state_dict())
    compared = 0
    for pred, logit in grid_points():
        _, g_pred, g_logit = grads(ours, pred, logit)
        out_m, m_pred, m_logit = grads(theirs, pred, logit)
        if not all(torch.isfinite(t).all() for t in (out_m, m_pred, m_logit)):
            continue
        _, xbar = normalised_residual(ours, pred, logit)
        inside = xbar.abs().max() <= 20
        if inside or pulls_and_widens(ours, pred, logit, m_pred, m_logit):
            compared += 1
            assert torch.equal(torch.sign(g_pred), torch.sign(m_pred)), (pred, logit)
            assert torch.equal(torch.sign(g_logit), torch.sign(m_logit)), (pred, logit)
    assert compared > 150


def test_mmpose_can_push_an_outlier_away_where_ours_pulls():
    """Far outside the box a randomised flow's tail makes MMPose's loss push a coordinate
    away from its label; ours pulls every coordinate in (the documented difference)."""
    ours = RLELoss(residual=True)
    randomise_(ours.flow_model, std=0.05)
    theirs = MMPoseRLELoss(residual=True)
    theirs.flow_model.load_state_dict(ours.flow_model.state_dict())
    pred, logit = TARGET + 0.01 * torch.tensor([[[1.0, 0.3]]]), torch.full((1, 1, 2), -30.0)
    _, m_pred, _ = grads(theirs, pred, logit)
    _, g_pred, _ = grads(ours, pred, logit)
    assert torch.isfinite(m_pred).all() and m_pred[0, 0, 1] < 0  # pushes y away
    assert (g_pred > 0).all()


def test_issue_example_reparam_outlier_is_pulled_in_and_widened():
    """Error 0.4 with σ logit −4 (|x̄| ≈ 22) and −8: the clipped flow of the first version
    gave dL/dμ̂ = 0 and pushed σ̂ down."""
    loss = RLELoss(design='reparam')
    target = torch.zeros(1, 1, 2)
    for logit in (-4.0, -8.0):
        _, g_pred, g_logit = grads(
            loss, torch.tensor([[[0.4, 0.0]]]), torch.full((1, 1, 2), logit), target
        )
        assert g_pred[0, 0, 0] > 1.0  # pulled toward the label, and not by a trickle
        assert g_logit[0, 0, 0] < 0  # σ̂ pushed up


def test_sigma_below_the_floor_keeps_its_gradient():
    """The first version's clamp_min gave the σ logit exactly zero gradient below
    sigma_min; the floor is straight-through now and σ̂ gets repaired."""
    loss = RLELoss()
    randomise_(loss.flow_model, std=0.05)
    pred = TARGET + torch.tensor([[[0.05, -0.02]]])  # an ordinary error, σ̂ collapsed
    _, _, g_logit = grads(loss, pred, torch.full((1, 1, 2), -12.0))
    assert (g_logit < 0).all()  # widened


def box_slope_bound(loss: RLELoss, bound: float) -> float:
    """G_B: max |∂_c log G_φ| on a fine grid of the box (with a margin for the grid)."""
    axis = torch.linspace(-bound, bound, 161)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing='ij'), -1).reshape(-1, 2)
    grid.requires_grad_(True)
    (slope,) = torch.autograd.grad(loss.flow_model.log_prob(grid).sum(), grid)
    return 1.05 * slope.abs().max().item()


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_gradients_obey_the_documented_bounds(design, q, formulation):
    loss = RLELoss(
        design=design, q_distribution=q, formulation=formulation, size_average=False, **FEW
    )
    randomise_(loss.flow_model, std=0.05)
    spec, bound, dim = loss.spec, loss.max_flow_input, 2
    flow = 0.0 if design == 'basic' else dim * spec.beta * box_slope_bound(loss, bound)
    slope = spec.kappa * spec.rho_slope_max(bound) * spec.has_q + flow
    mu_bound = slope / loss.sigma_min
    logit_bound = spec.a_nf + spec.a_q * spec.has_q + bound * slope
    worst = [0.0, 0.0]
    extreme_logits = LOGITS + [-1e4, -88.0, 30.0, 1e4]
    for e, logit, d in itertools.product(ERRORS + [1e6], extreme_logits, DIRECTIONS):
        pred = TARGET + e * torch.tensor([[d]])
        out, g_pred, g_logit = grads(loss, pred, torch.full((1, 1, 2), logit))
        assert torch.isfinite(out), (e, logit)
        worst = [
            max(worst[0], g_pred.abs().max().item()),
            max(worst[1], g_logit.abs().max().item()),
        ]
    assert worst[0] <= mu_bound * (1 + 1e-5), (worst, mu_bound)
    assert worst[1] <= logit_bound * (1 + 1e-5), (worst, logit_bound)


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_flow_gradients_stay_finite_for_outliers(design, q, formulation):
    loss = RLELoss(design=design, q_distribution=q, formulation=formulation, use_target_weight=True)
    randomise_(loss.flow_model, std=0.05)
    pred = torch.rand(4, 3, 2)
    target = pred + 0.02 * torch.randn(4, 3, 2)
    target[1, 2] += 1000.0
    logit = torch.randn(4, 3, 2)
    logit[2, 0] = -40.0
    loss(pred, logit, target, torch.ones(4, 3, 1)).backward()
    flow_grads = [p.grad for p in loss.flow_model.parameters() if p.grad is not None]
    assert flow_grads and all(torch.isfinite(g).all() for g in flow_grads)
    assert max(g.abs().max() for g in flow_grads) < 1e4


@pytest.mark.parametrize('design, q, formulation', ALL)
def test_value_is_continuous_across_both_bounds(design, q, formulation):
    """No jump at |x̄| = B or at σ̂ = σ_min: the change over a step δ stays below a
    Lipschitz constant times δ (float64, so that rounding does not hide a jump of 3e-4)."""
    ours = bounded_and_unbounded(design, q, formulation)[0].double()
    target = TARGET.double()
    base = target
    if design == 'basic':
        base = ours.flow_model.inverse(target.reshape(-1, 2))[0].reshape(1, 1, 2).detach()
    sign = -1.0 if design == 'basic' else 1.0
    sigma = 0.02
    logit = torch.full((1, 1, 2), float(torch.logit(torch.tensor(sigma))), dtype=torch.float64)
    for delta in (1e-4, 1e-6):  # across the box: x̄_x = B ∓ δ at a fixed σ̂
        values = [
            ours(
                base + sign * torch.tensor([[[b * sigma, 0.1 * sigma]]], dtype=torch.float64),
                logit,
                target,
            ).item()
            for b in (20 - delta, 20 + delta)
        ]
        assert abs(values[1] - values[0]) < 300 * delta, (delta, values)
    pred = base + sign * torch.tensor([[[2e-3, -1e-3]]], dtype=torch.float64)
    for delta in (1e-4, 1e-6):  # across the floor: σ̂ = σ_min (1 ± δ)
        values = [
            ours(
                pred,
                torch.full((1, 1, 2), float(torch.logit(torch.tensor(s))), dtype=torch.float64),
                target,
            ).item()
            for s in (1e-3 * (1 + delta), 1e-3 * (1 - delta))
        ]
        assert abs(values[1] - values[0]) < 300 * delta, (delta, values)


@pytest.mark.parametrize('residual, q', itertools.product([True, False], Q_DISTRIBUTIONS))
def test_ordinary_inputs_are_bit_identical_to_mmpose_with_gradients(residual, q):
    ours = RLELoss(residual=residual, q_distribution=q, use_target_weight=True)
    randomise_(ours.flow_model, std=0.2)
    theirs = MMPoseRLELoss(residual=residual, q_distribution=q, use_target_weight=True)
    theirs.flow_model.load_state_dict(ours.flow_model.state_dict())
    gen = torch.Generator().manual_seed(3)
    pred = torch.rand(6, 17, 2, generator=gen)
    target = pred + 0.02 * torch.randn(6, 17, 2, generator=gen)
    logit = torch.randn(6, 17, 2, generator=gen) - 2
    weight = torch.rand(6, 17, 1, generator=gen)
    results = []
    for loss in (ours, theirs):
        out, g_pred, g_logit = grads(loss, pred, logit, target, weight)
        results.append([out, g_pred, g_logit, *[p.grad for p in loss.flow_model.parameters()]])
        loss.zero_grad()
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_mixed_batch_keeps_ordinary_keypoints_exact():
    """A non-ordinary keypoint in the batch changes nothing for the others."""
    loss = RLELoss(size_average=False)
    randomise_(loss.flow_model, std=0.2)
    pred, logit = torch.rand(2, 3, 2), torch.randn(2, 3, 2)
    target = pred + 0.01 * torch.randn(2, 3, 2)
    weight = torch.ones(2, 3, 1)
    _, g_pred, g_logit = grads(
        RLELoss(size_average=False, use_target_weight=True), pred, logit, target, weight
    )
    weight[1, 1] = 0  # the keypoint we are about to make an outlier
    loss.use_target_weight = True
    clean, c_pred, c_logit = grads(loss, pred, logit, target, weight)
    target2 = target.clone()
    target2[1, 1] += 50.0
    logit2 = logit.clone()
    logit2[1, 1] = -20.0
    mixed, m_pred, m_logit = grads(loss, pred, logit2, target2, weight)
    torch.testing.assert_close(mixed, clean, rtol=0, atol=0)
    keep = torch.ones(2, 3, 1, dtype=torch.bool)
    keep[1, 1] = False
    torch.testing.assert_close(m_pred * keep, c_pred * keep, rtol=0, atol=0)


def test_clip_to_box_keeps_the_ray_and_never_overflows():
    r = torch.tensor([[3.0, -1.0], [1e-3, 2e-3], [0.0, 5.0], [0.0, 0.0]])
    log_sigma = torch.tensor([[-1e4, -1e4], [-1.0, -1.0], [-200.0, -200.0], [-50.0, -50.0]])
    box, ray, outside = clip_to_box(r, log_sigma, 20.0)
    assert torch.isfinite(box).all() and torch.isfinite(ray).all()
    torch.testing.assert_close(box[0], torch.tensor([20.0, -20.0]))
    torch.testing.assert_close(ray[0], torch.tensor([20.0, -20.0 / 3]), rtol=1e-4, atol=0)
    torch.testing.assert_close(ray[1], r[1] * torch.exp(torch.tensor(1.0)))  # inside: x̄
    torch.testing.assert_close(ray[2], torch.tensor([0.0, 20.0]))
    torch.testing.assert_close(ray[3], torch.zeros(2))
    assert outside.flatten().tolist() == [True, False, True, False]
