"""HeatmapKLLoss against loops and autograd, and finite where a naive one is not."""

import math

import numpy as np
import pytest
import torch

from mmpose_rle.models.losses import HeatmapKLLoss, gaussian_log_target
from mmpose_rle.models.utils import spatial_log_softmax


def test_target_is_a_normalised_gaussian_around_the_label():
    labels = torch.tensor([[[0.3, 0.6], [1.2, -0.1]]])
    log_t = gaussian_log_target(labels, width=8, height=6, sigma=1.5, offset=0.5)
    for k, (mx, my) in enumerate(labels[0].tolist()):
        t = np.array(
            [
                [
                    math.exp(
                        -((8 * ((j + 0.5) / 8 - mx)) ** 2 + (6 * ((i + 0.5) / 6 - my)) ** 2) / 4.5
                    )
                    for j in range(8)
                ]
                for i in range(6)
            ]
        )
        np.testing.assert_allclose(log_t[0, k].exp().numpy(), t / t.sum(), rtol=1e-5, atol=1e-7)
    assert torch.isfinite(log_t).all()  # labels outside the map: a truncated Gaussian


def test_kl_is_zero_at_the_target_and_positive_elsewhere():
    loss = HeatmapKLLoss(target_sigma=1.0)
    labels = torch.rand(2, 3, 2)
    log_t = gaussian_log_target(labels, 5, 4, 1.0)
    assert abs(loss(log_t, labels)) < 1e-6
    log_p = spatial_log_softmax(torch.randn(2, 3, 4, 5))
    assert loss(log_p, labels) > 0


def test_gradient_wrt_logits_is_beta_times_p_minus_t():
    beta, weights = 2.0, torch.tensor([[1.0, 0.0, 0.5]])
    logits = torch.randn(1, 3, 4, 5, requires_grad=True)
    labels = torch.rand(1, 3, 2)
    HeatmapKLLoss(target_sigma=1.2, loss_weight=3.0)(
        spatial_log_softmax(logits, beta), labels, weights
    ).backward()
    p = spatial_log_softmax(logits.detach(), beta).exp()
    t = gaussian_log_target(labels, 5, 4, 1.2).exp()
    expected = 3.0 * beta * (p - t) * weights[..., None, None]  # N = 1
    torch.testing.assert_close(logits.grad, expected)


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16, torch.float16])
def test_finite_at_extreme_logits_where_a_naive_log_softmax_is_not(dtype):
    logits = torch.zeros(1, 2, 8, 8, dtype=dtype)
    logits[0, 0, 0, 0] = 1e4 if dtype != torch.float16 else 6e4  # one hot, far from the label
    logits[0, 1] = -3e4
    logits.requires_grad_(True)
    labels = torch.tensor([[[0.9, 0.9], [0.5, 0.5]]])
    naive = (
        labels.new_ones(1, 2, 8, 8)
        * torch.log(torch.softmax(logits.float().flatten(2), -1).reshape(1, 2, 8, 8))
    ).sum()
    assert not torch.isfinite(naive)  # log(0) = -inf
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=dtype != torch.float32):
        out = HeatmapKLLoss()(spatial_log_softmax(logits.float()), labels)
    out.backward()
    assert torch.isfinite(out) and out > 0 and torch.isfinite(logits.grad).all()


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r'log_p \(N, K, H, W\) and labels \(N, K, 2\)'):
        HeatmapKLLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match='target_sigma must be positive'):
        HeatmapKLLoss(target_sigma=0)
