"""The σ ellipse primitive: one axis-aligned ellipse of semi-axes k·σ per keypoint."""

import numpy as np
import pytest

from mmpose_rle.visualization.ellipses import draw_sigma_ellipses


def extent(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    return (xs.max() - xs.min()) / 2, (ys.max() - ys.min()) / 2


def test_draw_sigma_ellipses_draws_axes_of_the_given_size():
    img = np.zeros((100, 100, 3), np.uint8)
    out = draw_sigma_ellipses(
        img, np.array([[50.0, 50.0]]), np.array([[20.0, 5.0]]), color=(255, 255, 255)
    )
    assert img.sum() == 0  # the input is not modified
    half_w, half_h = extent(out[..., 0] > 0)
    assert abs(half_w - 20) <= 1.5 and abs(half_h - 5) <= 1.5
    wider = draw_sigma_ellipses(img, np.array([[50.0, 50.0]]), np.array([[20.0, 5.0]]), scale=2.0)
    assert abs(extent(wider[..., 0] > 0)[0] - 40) <= 1.5
    with pytest.raises(ValueError, match='colours'):
        draw_sigma_ellipses(img, np.zeros((2, 2)), np.ones((2, 2)), color=np.zeros((3, 3)))


def ellipse_radius(mask: np.ndarray, cx: float, cy: float, a: float, b: float) -> np.ndarray:
    """``√((dx/a)² + (dy/b)²)`` of every drawn pixel: 1 on the ellipse of semi-axes a, b."""
    ys, xs = np.nonzero(mask)
    return np.hypot((xs - cx) / a, (ys - cy) / b)


@pytest.mark.parametrize('scale', [1.0, 2.5])
def test_drawn_pixels_lie_on_the_ellipse_of_k_sigma_around_the_keypoint(scale):
    img = np.zeros((120, 160, 3), np.uint8)
    cx, cy, sx, sy = 70.0, 55.0, 12.0, 8.0
    out = draw_sigma_ellipses(img, np.array([[cx, cy]]), np.array([[sx, sy]]), scale=scale)
    a, b = scale * sx, scale * sy
    r = ellipse_radius(out[..., 0] > 0, cx, cy, a, b)
    # every pixel within ~1.5 px of the curve (line width 1, anti-aliased), none far outside
    assert len(r) > 2 * np.pi * b  # a closed curve, not a few dots
    assert r.max() <= 1 + 1.5 / b and r.min() >= 1 - 1.5 / b
    # the whole curve: pixels at all four ends of the axes
    mask = out[..., 0] > 0
    for x, y in ((cx + a, cy), (cx - a, cy), (cx, cy + b), (cx, cy - b)):
        assert mask[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].any()
    assert not mask[int(cy), int(cx)]  # an outline, not a filled disc


def test_each_keypoint_gets_its_ellipse_in_its_colour_and_batches_are_flattened():
    img = np.zeros((100, 200, 3), np.uint8)
    keypoints = np.array([[[50.0, 50.0], [150.0, 50.0]]])  # (N=1, K=2, 2)
    sigmas = np.array([[[20.0, 10.0], [6.0, 30.0]]])
    out = draw_sigma_ellipses(img, keypoints, sigmas, color=np.array([[255, 0, 0], [0, 0, 255]]))
    red, blue = out[..., 0] > 0, out[..., 2] > 0
    assert not (red & blue).any() and not out[..., 1].any()
    r = ellipse_radius(red, 50, 50, 20, 10)
    assert r.min() >= 1 - 0.15 and r.max() <= 1 + 0.15
    r = ellipse_radius(blue, 150, 50, 6, 30)
    assert r.min() >= 1 - 0.25 and r.max() <= 1 + 0.25


def test_non_finite_keypoints_or_sigmas_draw_nothing():
    img = np.zeros((60, 60, 3), np.uint8)
    for kp, sig in (
        ([np.nan, 30.0], [5.0, 5.0]),
        ([30.0, np.inf], [5.0, 5.0]),
        ([30.0, 30.0], [np.nan, 5.0]),
        ([30.0, 30.0], [5.0, -np.inf]),
    ):
        out = draw_sigma_ellipses(img, np.array([kp]), np.array([sig]))
        assert not out.any(), (kp, sig)
    # a skipped keypoint does not stop the others from being drawn
    both = draw_sigma_ellipses(img, np.array([[np.nan, 0.0], [30.0, 30.0]]), np.ones((2, 2)) * 5)
    alone = draw_sigma_ellipses(img, np.array([[30.0, 30.0]]), np.ones((1, 2)) * 5)
    np.testing.assert_array_equal(both, alone)
    assert alone.any()


def test_tiny_sigmas_still_draw_a_one_pixel_ellipse_and_shapes_must_match():
    img = np.zeros((40, 40, 3), np.uint8)
    out = draw_sigma_ellipses(img, np.array([[20.0, 20.0]]), np.array([[0.01, 0.01]]))
    ys, xs = np.nonzero(out[..., 0])
    assert len(xs) > 0 and np.abs(xs - 20).max() <= 2 and np.abs(ys - 20).max() <= 2
    with pytest.raises(ValueError, match='must match'):
        draw_sigma_ellipses(img, np.zeros((3, 2)), np.ones((2, 2)))
