"""Expected OKS against Monte Carlo; box areas."""

import numpy as np

from mmpose_rle.models.utils import box_areas, expected_oks


def test_expected_oks_matches_monte_carlo():
    rng = np.random.default_rng(0)
    sigmas = np.array([[[3.0, 5.0], [20.0, 1.0]]])
    areas, oks_sigmas = np.array([900.0]), np.array([0.05, 0.1])
    got = expected_oks(sigmas, areas, oks_sigmas)
    draws = rng.normal(size=(400000, 2, 2)) * sigmas[0]
    v = areas[0] * (2 * oks_sigmas) ** 2
    mc = np.exp(-(draws**2).sum(-1) / (2 * v)).mean(0)
    np.testing.assert_allclose(got[0], mc, rtol=5e-3)
    assert expected_oks(np.zeros((1, 2, 2)), areas, oks_sigmas).tolist() == [[1.0, 1.0]]


def test_box_areas():
    boxes = np.array([[0.0, 0.0, 30.0, 30.0], [10.0, 20.0, 14.0, 21.5]])
    np.testing.assert_allclose(box_areas(boxes), [900.0, 6.0])
    np.testing.assert_allclose(box_areas(np.array([1.0, 1.0, 3.0, 5.0])), [8.0])
