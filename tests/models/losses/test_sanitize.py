"""Bad labels are masked with a warning that names them; bad outputs raise."""

import pytest
import torch

from mmpose_rle.models import RLELoss
from tests.helpers import randomise_

K = 5


def batch(N=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.rand(N, K, 2, generator=gen)
    return (
        pred,
        torch.randn(N, K, 2, generator=gen),
        pred + 0.05 * torch.randn(N, K, 2, generator=gen),
        torch.ones(N, K, 1),
    )


def grads(loss_fn, pred, sigma, *rest):
    pred, sigma = pred.clone().requires_grad_(), sigma.clone().requires_grad_()
    out = loss_fn(pred, sigma, *rest)
    out.backward()
    return out, pred.grad, sigma.grad, [p.grad for p in loss_fn.flow_model.parameters()]


def loss_fn(**kwargs):
    loss = RLELoss(use_target_weight=True, **kwargs)
    randomise_(loss.flow_model, std=0.05)
    return loss


def test_non_finite_targets_and_weights_are_masked_with_a_warning():
    loss = loss_fn()
    pred, sigma, target, w = batch()
    clean = loss(
        pred,
        sigma,
        target,
        w.clone().index_put_(
            (torch.tensor([1, 3]), torch.tensor([2, 0])), torch.tensor([[0.0], [0.0]])
        ),
    )
    bad_target, bad_w = target.clone(), w.clone()
    bad_target[1, 2, 0] = float('nan')
    bad_w[3, 0] = float('inf')
    with pytest.warns(
        UserWarning,
        match=r'masked 2 keypoint.*sample 1, keypoint 2.*sample 3, '
        r'keypoint 0',
    ):
        out, g_pred, g_sigma, g_flow = grads(loss, pred, sigma, bad_target, bad_w)
    torch.testing.assert_close(out, clean)
    assert torch.isfinite(g_pred).all() and (g_pred[1, 2] == 0).all()


def test_nan_target_without_target_weight_is_masked_too():
    loss = RLELoss()
    pred, sigma, target, _ = batch()
    target[0, 0, 1] = float('nan')
    with pytest.warns(UserWarning, match='masked 1 keypoint'):
        out = loss(pred, sigma, target)
    assert torch.isfinite(out)


def test_all_invisible_gives_zero_loss_and_zero_gradients():
    pred, sigma, target, w = batch()
    out, g_pred, g_sigma, g_flow = grads(loss_fn(), pred, sigma, target, torch.zeros_like(w))
    assert out == 0 and (g_pred == 0).all() and (g_sigma == 0).all()
    assert all((g == 0).all() for g in g_flow)


@pytest.mark.parametrize('which', ['coordinates', 'sigma logits'])
def test_non_finite_network_outputs_raise(which):
    pred, sigma, target, w = batch()
    (pred if which == 'coordinates' else sigma)[0, 0, 0] = float('nan')
    with pytest.raises(FloatingPointError, match=f'non-finite {which}'):
        loss_fn()(pred, sigma, target, w)
