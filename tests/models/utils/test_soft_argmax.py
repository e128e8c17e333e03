"""Spatial log-softmax and soft-argmax against plain loops and at extreme logits."""

import numpy as np
import pytest
import torch

from mmpose_rle.models.utils import (
    cell_grid,
    pixel_grid,
    soft_argmax,
    spatial_log_softmax,
    window_around_peak,
)


def test_soft_argmax_equals_a_loop_over_cells():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 5, 7, generator=gen) * 3
    probs = spatial_log_softmax(logits, beta=1.7).exp()
    got = soft_argmax(probs, cell_grid(7), cell_grid(5))
    for b in range(2):
        for k in range(3):
            z = 1.7 * logits[b, k].double().numpy()
            p = np.exp(z - z.max())
            p /= p.sum()
            x = sum(p[i, j] * (j + 0.5) / 7 for i in range(5) for j in range(7))
            y = sum(p[i, j] * (i + 0.5) / 5 for i in range(5) for j in range(7))
            np.testing.assert_allclose(got[b, k].numpy(), [x, y], rtol=1e-5)


def test_log_softmax_is_finite_at_extreme_logits():
    logits = torch.zeros(1, 1, 4, 4)
    logits[0, 0, 1, 2] = 1e30
    logits[0, 0, 3, 3] = -1e30
    log_p = spatial_log_softmax(logits)
    assert torch.isfinite(log_p[0, 0, 1, 2]) and log_p[0, 0, 1, 2] == 0
    probs = log_p.exp()
    torch.testing.assert_close(
        soft_argmax(probs, cell_grid(4), cell_grid(4)), torch.tensor([[[2.5 / 4, 1.5 / 4]]])
    )


def test_pixel_grid_puts_cells_at_their_centre_in_input_pixels():
    """Cell j of stride t covers input pixels [j t − ½, (j + 1) t − ½]: centre (j + ½) t − ½."""
    for size, input_size in ((32, 128), (12, 48), (7, 7)):
        stride = input_size / size
        expected = [((j + 0.5) * stride - 0.5) / input_size for j in range(size)]
        np.testing.assert_allclose(pixel_grid(size, input_size).numpy(), expected, atol=1e-7)


def test_mirrored_maps_decode_to_the_mirrored_coordinate():
    """MMPose's mirror x' = w − 1 − x (flip test with shift_coords): exact on the pixel grid."""
    gen = torch.Generator().manual_seed(1)
    w, h = 128, 96
    probs = spatial_log_softmax(torch.randn(3, 4, 24, 32, generator=gen) * 4).exp()
    grids = pixel_grid(32, w), pixel_grid(24, h)
    x = soft_argmax(probs, *grids)[..., 0].double() * w
    x_mirrored = soft_argmax(probs.flip(-1), *grids)[..., 0].double() * w
    assert (x_mirrored - (w - 1 - x)).abs().max() < 1e-4


def test_window_around_peak_keeps_the_cells_near_the_peak_of_each_map():
    gen = torch.Generator().manual_seed(0)
    probs = torch.rand(2, 3, 9, 11, generator=gen)
    probs = probs / probs.sum(dim=(-2, -1), keepdim=True)
    out = window_around_peak(probs, 2)
    for b in range(2):
        for k in range(3):
            i, j = np.unravel_index(probs[b, k].argmax().item(), (9, 11))
            expected = torch.zeros(9, 11)
            for r in range(max(0, i - 2), min(9, i + 3)):
                for c in range(max(0, j - 2), min(11, j + 3)):
                    expected[r, c] = probs[b, k, r, c]
            torch.testing.assert_close(out[b, k], expected / expected.sum())


def test_window_around_peak_reads_the_stronger_of_two_modes():
    probs = torch.zeros(1, 1, 5, 8)
    probs[0, 0, 1, 1], probs[0, 0, 3, 6] = 0.6, 0.4
    grid_x, grid_y = cell_grid(8), cell_grid(5)
    whole = soft_argmax(probs, grid_x, grid_y)[0, 0]
    windowed = soft_argmax(window_around_peak(probs, 1), grid_x, grid_y)[0, 0]
    torch.testing.assert_close(
        whole, torch.tensor([0.6 * 1.5 / 8 + 0.4 * 6.5 / 8, 0.6 * 1.5 / 5 + 0.4 * 3.5 / 5])
    )
    torch.testing.assert_close(windowed, torch.tensor([1.5 / 8, 1.5 / 5]))


def test_window_around_peak_rejects_a_negative_radius():
    with pytest.raises(ValueError, match='radius'):
        window_around_peak(torch.ones(1, 1, 2, 2) / 4, -1)
