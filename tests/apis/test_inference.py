"""σ in image pixels and σ ellipses."""

import numpy as np
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mmpose_rle.apis import draw_sigma_ellipses, sigmas_in_image


def test_sigmas_in_image_scale_with_the_crop():
    sample = PoseDataSample(
        metainfo=dict(input_size=(64, 128), input_scale=np.array([[32.0, 512.0]]))
    )
    sample.pred_instances = InstanceData(keypoint_sigmas=np.array([[[2.0, 4.0]]]))
    np.testing.assert_allclose(sigmas_in_image(sample), [[[2.0 / 64 * 32, 4.0 / 128 * 512]]])


def test_draw_sigma_ellipses_draws_axes_of_the_given_size():
    img = np.zeros((100, 100, 3), np.uint8)
    out = draw_sigma_ellipses(
        img, np.array([[50.0, 50.0]]), np.array([[20.0, 5.0]]), color=(255, 255, 255)
    )
    assert img.sum() == 0  # the input is not modified
    ys, xs = np.nonzero(out[..., 0])
    assert abs((xs.max() - xs.min()) / 2 - 20) <= 1.5
    assert abs((ys.max() - ys.min()) / 2 - 5) <= 1.5
    wider = draw_sigma_ellipses(img, np.array([[50.0, 50.0]]), np.array([[20.0, 5.0]]), scale=2.0)
    assert np.nonzero(wider[..., 0])[1].min() < xs.min()
