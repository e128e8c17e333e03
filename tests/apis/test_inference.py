"""σ in image pixels, through the σ map of the inference mode, and σ ellipses."""

import math

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mmpose_rle.apis import draw_sigma_ellipses, inference_rle, sigmas_in_image
from mmpose_rle.apis.onnx_export import build_model
from tests.helpers import ROOT, randomise_

R50 = (
    ROOT / 'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_rle-8xb64-210e_coco-256x192.py'
)


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


def test_inference_reports_sigma_through_the_map_of_the_models_inference_mode():
    model = build_model(
        R50, cfg_options={'model.backbone.depth': 18, 'model.head.in_channels': 512}
    )
    randomise_(model.head, std=0.05, seed=5)
    img = np.random.default_rng(0).integers(0, 255, (160, 120, 3), dtype=np.uint8)

    def sigmas(flip_test: bool) -> np.ndarray:
        model.test_cfg['flip_test'] = flip_test
        return inference_rle(model, img).sigmas

    raw = {flip: sigmas(flip) for flip in (False, True)}
    calibration = model.head.sigma_calibration
    calibration.set_(torch.full((17, 2), math.log(2.0)), mode='single')
    calibration.set_(torch.full((17, 2), math.log(3.0)), mode='flip')
    for flip, factor in ((False, 2.0), (True, 3.0)):
        np.testing.assert_allclose(sigmas(flip), factor * raw[flip], rtol=1e-4)
