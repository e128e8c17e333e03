"""HeatmapKLLoss against loops and autograd, and finite where a naive one is not."""

import math

import numpy as np
import pytest
import torch

from mmpose_rle.models.losses import HeatmapKLLoss, gaussian_log_target
from mmpose_rle.models.utils import cell_grid, pixel_grid, spatial_log_softmax


def grids(width: int, height: int):
    return cell_grid(width), cell_grid(height)


def test_unmatched_target_is_a_normalised_gaussian_around_the_label():
    labels = torch.tensor([[[0.3, 0.6], [1.2, -0.1]]])
    log_t = gaussian_log_target(labels, *grids(8, 6), sigma=1.5, match_mean=False)
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
    log_t = gaussian_log_target(labels, *grids(5, 4), 1.0)
    assert abs(loss(log_t, labels, grids(5, 4))) < 1e-6
    log_p = spatial_log_softmax(torch.randn(2, 3, 4, 5))
    assert loss(log_p, labels, grids(5, 4)) > 0


def test_gradient_wrt_logits_is_beta_times_p_minus_t():
    beta, weights = 2.0, torch.tensor([[1.0, 0.0, 0.5]])
    logits = torch.randn(1, 3, 4, 5, requires_grad=True)
    labels = torch.rand(1, 3, 2)
    HeatmapKLLoss(target_sigma=1.2, loss_weight=3.0)(
        spatial_log_softmax(logits, beta), labels, grids(5, 4), weights
    ).backward()
    p = spatial_log_softmax(logits.detach(), beta).exp()
    t = gaussian_log_target(labels, *grids(5, 4), 1.2).exp()
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
        out = HeatmapKLLoss()(spatial_log_softmax(logits.float()), labels, grids(8, 8))
    out.backward()
    assert torch.isfinite(out) and out > 0 and torch.isfinite(logits.grad).all()


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r'log_p \(N, K, H, W\) and labels \(N, K, 2\)'):
        HeatmapKLLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2), grids(4, 4))
    with pytest.raises(ValueError, match='target_sigma must be positive'):
        HeatmapKLLoss(target_sigma=0)

    with pytest.raises(ValueError, match='grids of 5x4 cells do not fit maps of 4x4'):
        HeatmapKLLoss()(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 2), grids(5, 4))


def target_mean_px(label_px: float, match_mean: bool) -> float:
    """Mean x of the dense target of a 128 px input, 32x32 maps, σ = 2 cells, in pixels."""
    grid = pixel_grid(32, 128)
    labels = torch.tensor([[[label_px / 128, 0.5]]])
    log_t = gaussian_log_target(labels, grid, grid, 2.0, match_mean=match_mean)
    return float((log_t.exp().sum(-2) * grid).sum()) * 128


@pytest.mark.parametrize('label_px', [2.0, 4.0, 8.0, 40.3, 64.0, 119.9, 125.0])
def test_matched_target_mean_is_the_label_up_to_the_border(label_px):
    assert abs(target_mean_px(label_px, True) - label_px) < 0.05


def test_unmatched_target_mean_is_pulled_inward_at_the_border():
    """The cut Gaussian's mean lies px inside a label near the border; far from it, not."""
    assert target_mean_px(4.0, False) - 4.0 > 3.0
    assert abs(target_mean_px(64.0, False) - 64.0) < 1e-3


def test_labels_beyond_the_outermost_cell_centre_get_the_nearest_mean():
    grid = pixel_grid(32, 128)  # outermost centres at 1.5 and 125.5 px
    for label_px, edge in ((0.0, 1.5), (127.0, 125.5)):
        assert abs(target_mean_px(label_px, True) - edge) < 0.05
    labels = torch.tensor([[[-0.3, 1.4]]])  # far outside: finite targets
    assert torch.isfinite(gaussian_log_target(labels, grid, grid, 2.0)).all()
