"""σ from pixels of the model input to pixels of the image, per axis."""

import numpy as np

from mmpose_rle.models.utils.image_sigmas import input_to_image_sigmas


def test_each_axis_is_scaled_by_the_crop_per_input_pixel_hand_case():
    sigmas = np.array([[[3.0, 4.0], [1.0, 2.0]], [[3.0, 4.0], [0.5, 8.0]]], np.float32)
    size = np.array([192, 256])  # (w, h) of the model input
    scale = np.array([[96.0, 512.0], [384.0, 128.0]])  # each crop's (w, h) in the image
    out = input_to_image_sigmas(sigmas, size, scale)
    # instance 0: x by 96/192 = 1/2, y by 512/256 = 2; instance 1: x by 2, y by 1/2
    expected = np.array([[[1.5, 8.0], [0.5, 4.0]], [[6.0, 2.0], [1.0, 4.0]]])
    assert out.shape == (2, 2, 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_one_crop_scale_applies_to_every_instance():
    sigmas = np.array([[[3.0, 4.0]], [[6.0, 1.0]]])
    out = input_to_image_sigmas(sigmas, (100, 50), (300, 25))  # x × 3, y × 1/2
    np.testing.assert_allclose(out, [[[9.0, 2.0]], [[18.0, 0.5]]], rtol=1e-12)
    # (1, 2)-shaped scale (how MMPose stores one instance's) is the same
    np.testing.assert_allclose(input_to_image_sigmas(sigmas, (100, 50), [[300, 25]]), out)


def test_a_crop_as_large_as_the_input_keeps_sigma_and_the_map_is_linear():
    rng = np.random.default_rng(0)
    sigmas = rng.uniform(0.1, 10, (3, 5, 2))
    size = np.array([64.0, 48.0])
    np.testing.assert_allclose(input_to_image_sigmas(sigmas, size, size), sigmas, rtol=1e-12)
    scale = rng.uniform(10, 300, (3, 2))
    one = input_to_image_sigmas(sigmas, size, scale)
    np.testing.assert_allclose(input_to_image_sigmas(2.5 * sigmas, size, scale), 2.5 * one)
    # a crop twice as wide doubles σx only
    wider = input_to_image_sigmas(sigmas, size, scale * [2.0, 1.0])
    np.testing.assert_allclose(wider[..., 0], 2 * one[..., 0])
    np.testing.assert_allclose(wider[..., 1], one[..., 1])
