"""ResidualMoment against an explicit weighted sum, and its use by RLELoss."""

import math

import pytest
import torch

from mmpose_rle.models.losses import ResidualMoment, RLELoss


def batch(gen: torch.Generator, n: int = 8, k: int = 3):
    pred = torch.rand(n, k, 2, generator=gen)
    sigma = 0.05 + 0.2 * torch.rand(n, k, 2, generator=gen)
    target = pred + 0.1 * torch.randn(n, k, 2, generator=gen)
    weight = (torch.rand(n, k, generator=gen) > 0.3).float()
    return pred, sigma, target, weight


def test_rms_is_the_bias_corrected_weighted_average_of_batch_mean_squares():
    gen = torch.Generator().manual_seed(0)
    beta, steps = 0.9, 6
    moment = ResidualMoment(2, momentum=beta)
    means = []
    for _ in range(steps):
        pred, sigma, target, weight = batch(gen)
        moment.update(pred, sigma, target, weight)
        x2 = ((target - pred) / sigma) ** 2
        w = weight[..., None].expand_as(x2)
        means.append((w * x2).sum((0, 1)) / w.sum((0, 1)))
    ages = [beta ** (steps - 1 - t) for t in range(steps)]  # weight of step t after all steps
    expected = sum(a * m for a, m in zip(ages, means)) / sum(ages)
    torch.testing.assert_close(moment.rms(), expected.sqrt().float(), rtol=1e-6, atol=0)


def test_add_averages_any_statistic_and_mean_is_its_average():
    moment = ResidualMoment(2, momentum=0.5)
    values = torch.tensor([[[1.0, -2.0], [3.0, 5.0]]])  # (1, 2, 2)
    moment.add(values, torch.tensor([[1.0, 3.0]]))
    first = torch.tensor([(1 + 9) / 4, (-2 + 15) / 4])
    torch.testing.assert_close(moment.mean(), first)
    moment.add(-values)
    second = torch.tensor([-2.0, -1.5])
    expected = (0.5 * 0.5 * first + 0.5 * second) / (0.5 * 0.5 + 0.5)
    torch.testing.assert_close(moment.mean(), expected)


def test_keypoints_of_weight_zero_do_not_count():
    moment = ResidualMoment(2, momentum=0.5)
    pred, sigma = torch.zeros(2, 2, 2), torch.ones(2, 2, 2)
    target = torch.tensor([[[1.0, 2.0], [1e3, 1e3]], [[3.0, 4.0], [1e3, 1e3]]])
    moment.update(pred, sigma, target, torch.tensor([[1.0, 0.0], [1.0, 0.0]]))
    expected = torch.tensor([math.sqrt((1 + 9) / 2), math.sqrt((4 + 16) / 2)])
    torch.testing.assert_close(moment.rms(), expected)


def test_nothing_is_measured_before_the_first_batch_or_from_an_empty_one():
    moment = ResidualMoment(2)
    assert moment.rms() is None
    pred, sigma, target, _ = batch(torch.Generator().manual_seed(1))
    moment.update(pred, sigma, target, torch.zeros(pred.shape[:2]))
    assert moment.rms() is None
    moment.update(pred, sigma, target)
    before = moment.rms().clone()
    moment.update(pred, sigma, target, torch.zeros(pred.shape[:2]))
    torch.testing.assert_close(moment.rms(), before)


def test_state_is_saved_and_loaded_with_the_module():
    moment = ResidualMoment(2)
    moment.update(*batch(torch.Generator().manual_seed(2)))
    other = ResidualMoment(2)
    other.load_state_dict(moment.state_dict())
    torch.testing.assert_close(other.rms(), moment.rms())


@pytest.mark.parametrize('momentum', [-0.1, 1.0])
def test_bad_momentum_is_refused(momentum):
    with pytest.raises(ValueError, match='momentum'):
        ResidualMoment(2, momentum=momentum)


def test_rle_loss_reports_the_flow_rms_until_trained_then_the_measured_one():
    torch.manual_seed(0)
    loss = RLELoss(use_target_weight=True, rms_source='moment', rms_momentum=0.9)
    flow_only = RLELoss(use_target_weight=True)
    flow_only.load_state_dict(loss.state_dict(), strict=False)
    loss.eval(), flow_only.eval()
    torch.testing.assert_close(loss.residual_rms(), flow_only.residual_rms())

    pred, sigma, target, weight = batch(torch.Generator().manual_seed(3))
    logits = torch.logit(sigma)
    loss.train()
    loss(pred, logits, target, weight)
    x2 = ((target - pred) / sigma) ** 2
    w = weight[..., None].expand_as(x2)
    expected = ((w * x2).sum((0, 1)) / w.sum((0, 1))).sqrt()  # one step: no decay yet
    loss.eval()
    torch.testing.assert_close(loss.residual_rms(), expected, rtol=1e-5, atol=0)
    _, rms = loss.predictive(pred, sigma)
    torch.testing.assert_close(rms, sigma * expected, rtol=1e-5, atol=0)


def test_rle_loss_measures_only_training_steps_with_gradients():
    loss = RLELoss(rms_source='moment')
    pred, sigma, target, _ = batch(torch.Generator().manual_seed(4))
    loss.eval()
    loss(pred, torch.logit(sigma), target)
    assert loss.residual_moment.rms() is None
    loss.train()
    with torch.no_grad():
        loss(pred, torch.logit(sigma), target)
    assert loss.residual_moment.rms() is None


def test_rle_loss_counts_visible_keypoints_without_use_target_weight():
    loss = RLELoss(rms_source='moment')
    pred, sigma = torch.zeros(1, 2, 2), torch.full((1, 2, 2), 0.5)
    target = torch.tensor([[[0.1, 0.2], [0.9, 0.9]]])
    loss(pred, torch.logit(sigma), target, torch.tensor([[1.0, 0.0]]))
    torch.testing.assert_close(loss.residual_moment.rms(), torch.tensor([0.2, 0.4]))


@pytest.mark.parametrize('q, unit_rms', [('laplace', math.sqrt(2)), ('gaussian', 1.0)])
def test_basic_design_measures_the_labels_preimages_against_its_q(q, unit_rms):
    """In the basic design s is the RMS of (f⁻¹(μ_g) − μ̂) / (b σ̂ r_Q) over both coordinates,
    and the predictive RMS is Q widened by s pushed through the flow: the flow-only model's at
    σ̂ · s."""
    torch.manual_seed(0)
    loss = RLELoss(design='basic', q_distribution=q, use_target_weight=True, rms_source='moment')
    flow_only = RLELoss(design='basic', q_distribution=q, use_target_weight=True)
    flow_only.load_state_dict(loss.state_dict(), strict=False)
    pred, sigma, target, weight = batch(torch.Generator().manual_seed(5))
    loss(pred, torch.logit(sigma), target, weight)
    with torch.no_grad():
        preimage = loss.flow_model.inverse(target.reshape(-1, 2))[0].reshape(target.shape)
    x2 = ((preimage - pred) / (loss.basic_q_scale * unit_rms * sigma)) ** 2
    w = weight[..., None].expand_as(x2)
    expected = ((w * x2).sum((0, 1)) / w.sum((0, 1))).mean().sqrt().expand(2)  # one factor
    loss.eval(), flow_only.eval()
    torch.testing.assert_close(loss.residual_rms(), expected, rtol=1e-5, atol=0)
    assert not torch.allclose(expected, torch.ones(2), rtol=0.05)  # the check can see s
    coords, rms = loss.predictive(pred, sigma)
    coords_ref, rms_ref = flow_only.predictive(pred, sigma * expected)
    torch.testing.assert_close(coords, coords_ref)
    torch.testing.assert_close(rms, rms_ref, rtol=1e-5, atol=1e-7)


def test_rle_loss_refuses_unknown_rms_sources():
    with pytest.raises(ValueError, match='rms_source'):
        RLELoss(rms_source='samples')
