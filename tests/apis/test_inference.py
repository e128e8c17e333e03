"""σ in image pixels, through the σ map of the inference mode."""

import math

import numpy as np
import torch
from mmpose.apis import inference_topdown

from mmpose_rle.apis import inference_rle
from mmpose_rle.apis.onnx_export import build_model
from tests.helpers import ROOT, randomise_

R50 = (
    ROOT / 'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_rle-8xb64-210e_coco-256x192.py'
)


def test_image_sigmas_scale_input_sigmas_with_the_crop():
    model = build_model(
        R50, cfg_options={'model.backbone.depth': 18, 'model.head.in_channels': 512}
    )
    randomise_(model.head, std=0.05, seed=5)
    img = np.random.default_rng(0).integers(0, 255, (160, 120, 3), dtype=np.uint8)
    boxes = np.array([[10, 20, 50, 140], [0, 0, 120, 40]], np.float32)
    for sample in inference_topdown(model, img, boxes, bbox_format='xyxy'):
        size = np.asarray(sample.metainfo['input_size'], np.float64)  # (w, h) = (192, 256)
        scale = np.asarray(sample.metainfo['input_scale'], np.float64).reshape(2)
        pred = sample.pred_instances
        for d in range(2):
            np.testing.assert_allclose(
                pred.keypoint_sigmas_image[..., d],
                pred.keypoint_sigmas[..., d] * scale[d] / size[d],
                rtol=1e-5,
            )


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
