"""A tiny one-stage model (BottomupPoseEstimator with YOLOXPoseRLEHead) on procedural crowds,
a noisy oracle in place of its head's ``predict`` whose errors have a known RMS, and
hand-built bottom-up samples (shared with tests/engine and tests/cli)."""

import math
import os
from pathlib import Path
from typing import Dict, List, Sequence, Tuple
from unittest import mock

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample

from mmpose_rle.datasets import SyntheticCrowds, generate_synthetic_crowds
from mmpose_rle.models import YOLOXPoseRLEHead
from tests.helpers import ROOT

__all__ = [
    'ONE_STAGE_CONFIG',
    'SMALL_OPTIONS',
    'NoisyOracle',
    'crowds_data',
    'one_stage_model_and_loader',
    'use_oracle',
    'to_image',
    'synthetic_batches',
]

ONE_STAGE_CONFIG = ROOT / 'configs/one_stage/yoloxpose-rle_tiny_crowds-192.py'
#: Config options that shrink the validation split to 64×64 inputs in one process.
SMALL_OPTIONS = {
    'val_dataloader.batch_size': 4,
    'val_dataloader.num_workers': 0,
    'val_dataloader.persistent_workers': False,
    'val_dataloader.dataset.pipeline.1.input_size': (64, 64),
}


def crowds_data(folder: Path) -> Path:
    """Procedural crowds: 4 validation images of 96 pixels (2 to 4 figures each)."""
    params = SyntheticCrowds(num_train=1, num_val=4, image_size=96, min_figures=2)
    return generate_synthetic_crowds(str(folder), params, progress=False)


def one_stage_model_and_loader(data_root: Path) -> Tuple[torch.nn.Module, object]:
    """The one-stage RLE config's model, initialised, in eval mode, and the validation split
    of ``data_root`` at :data:`SMALL_OPTIONS`."""
    with mock.patch.dict(os.environ, MMPOSE_RLE_CROWDS_ROOT=str(data_root)):
        cfg = Config.fromfile(str(ONE_STAGE_CONFIG))
    cfg.merge_from_dict(SMALL_OPTIONS)
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval(), Runner.build_dataloader(cfg.val_dataloader)


def to_input(points: np.ndarray, metainfo: dict) -> np.ndarray:
    """``(..., 2)`` image pixels to input pixels (the inverse of MMPose's map)."""
    size, scale, centre = (
        np.asarray(metainfo[k], np.float64) for k in ('input_size', 'input_scale', 'input_center')
    )
    return (np.asarray(points, np.float64) - centre + 0.5 * scale) / scale * size


def to_image(points: np.ndarray, metainfo: dict) -> np.ndarray:
    """``(..., 2)`` input pixels to image pixels (MMPose's ``add_pred_to_datasample``)."""
    size, scale, centre = (
        np.asarray(metainfo[k], np.float64) for k in ('input_size', 'input_scale', 'input_center')
    )
    return np.asarray(points, np.float64) / size * scale + centre - 0.5 * scale


class NoisyOracle:
    """A stand-in for ``YOLOXPoseRLEHead.predict``: per image, one prediction on each
    ground-truth instance's box, ``σ̂`` drawn per keypoint, keypoints off the ground truth
    by a Laplace error of RMS ``factor`` times the head's raw predictive RMS (head units,
    ``s = √(w h)`` of the box in input pixels), then a false positive in the corner; the
    head's own ``instances`` makes the predictions. Seeded by the image id: every pass
    predicts the same. ``drawn[img_id]`` holds ``(σ̂, errors in head units)``."""

    def __init__(self, factor: float = 2.0, seed: int = 0) -> None:
        self.factor, self.seed = factor, seed
        self.drawn: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, head, feats, batch_data_samples, test_cfg=None) -> List[InstanceData]:
        return [self.image(head, sample) for sample in batch_data_samples]

    def image(self, head: YOLOXPoseRLEHead, sample: PoseDataSample) -> InstanceData:
        meta, gt = sample.metainfo, sample.gt_instances
        boxes = to_input(np.asarray(gt.bboxes).reshape(-1, 2, 2), meta)
        keypoints = to_input(gt.keypoints, meta)
        n, k = keypoints.shape[:2]
        rng = np.random.default_rng([self.seed, meta['img_id']])
        sigma = rng.uniform(0.02, 0.1, (n + 1, k, 2))
        _, rms = head.predictive(torch.zeros(n, k, 2), torch.as_tensor(sigma[:n]).float())
        errors = rng.laplace(scale=self.factor * rms.double().numpy() / math.sqrt(2))
        sizes = np.sqrt((boxes[:, 1] - boxes[:, 0]).clip(1).prod(-1))
        self.drawn[meta['img_id']] = (sigma[:n], errors)
        keypoints = keypoints + errors * sizes[:, None, None]
        fp_box, fp_keypoints = [[0.0, 0.0, 6.0, 6.0]], rng.uniform(0, 6, (1, k, 2))

        def t(x) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x), dtype=torch.float32)

        return head.instances(
            meta,
            t(np.ones(n + 1)),
            torch.zeros(n + 1, dtype=torch.long),
            t(np.concatenate([boxes.reshape(n, 4), fp_box])),
            t(np.concatenate([keypoints, fp_keypoints])),
            t(np.ones((n + 1, k))),
            t(sigma),
            t(np.full(n + 1, 8.0)),
        )


def use_oracle(monkeypatch, oracle: NoisyOracle) -> NoisyOracle:
    """Make every ``YOLOXPoseRLEHead`` predict by ``oracle`` (undone after the test)."""

    def predict(self, feats, batch_data_samples, test_cfg={}):
        return oracle(self, feats, batch_data_samples, test_cfg)

    monkeypatch.setattr(YOLOXPoseRLEHead, 'predict', predict)
    return oracle


def _synthetic_image(
    rng: np.random.Generator, img_id: int, num_keypoints: int, true_rms
) -> PoseDataSample:
    """One image of :func:`synthetic_batches`."""
    meta = dict(
        img_id=img_id, input_size=(64, 48), input_scale=(160.0, 96.0), input_center=(80.0, 48.0)
    )
    n, k = 3, num_keypoints
    corner = rng.uniform(0, 24, (n, 2))
    boxes = np.stack([corner, corner + rng.uniform(6, 40, (n, 2))], 1).clip(0, [64, 48])
    sizes = np.sqrt((boxes[:, 1] - boxes[:, 0]).clip(1).prod(-1))
    rms = rng.uniform(0.03, 0.12, (n, k, 2))
    kps = boxes[:, :1] + rng.uniform(0, 1, (n, k, 2)) * (boxes[:, 1:] - boxes[:, :1])
    errors = rng.laplace(scale=true_rms(rms) / math.sqrt(2))
    labels = to_image(kps - errors * sizes[:, None, None], meta)
    order = rng.permutation(n + 1)  # the predictions in their own order, a false positive
    pred_boxes = np.concatenate([boxes, [[[50.0, 40.0], [64.0, 48.0]]]])[order]
    pred_kps = np.concatenate([kps, rng.uniform(40, 48, (1, k, 2))])[order]
    pred_sigmas = np.concatenate([rms * sizes[:, None, None], np.ones((1, k, 2))])[order]
    far = [[[1000.0, 1000.0], [1010.0, 1020.0]]]  # labelled, never predicted: missing
    sample = PoseDataSample(metainfo=meta)
    sample.pred_instances = InstanceData(
        bboxes=to_image(pred_boxes, meta).reshape(-1, 4).astype(np.float32),
        keypoints=to_image(pred_kps, meta).astype(np.float32),
        keypoint_sigmas=pred_sigmas.astype(np.float32),
        keypoint_scores=rng.uniform(0, 1, (n + 1, k)).astype(np.float32),
    )
    sample.gt_instances = InstanceData(
        bboxes=np.concatenate([to_image(boxes, meta), far]).reshape(-1, 4).astype(np.float32),
        keypoints=np.concatenate([labels, np.full((1, k, 2), 1005.0)]).astype(np.float32),
        keypoints_visible=np.ones((n + 1, k), np.float32),
    )
    return sample


def synthetic_batches(
    num_images: int, num_keypoints: int, true_rms, seed: int = 0, batch: int = 10
) -> List[Sequence[PoseDataSample]]:
    """Predicted bottom-up samples of known error, as a data loader of ``model.test_step``
    that returns its batch: per image three ground-truth instances predicted (shuffled,
    boxes in the input of various sizes ``s``), a false positive and a labelled
    instance far outside the input, never predicted. The prediction's RMS in head units is
    ``rms ~ U(0.03, 0.12)``, reported as ``keypoint_sigmas = s · rms``; its errors in head
    units are Laplace of RMS ``true_rms(rms)``."""
    rng = np.random.default_rng(seed)
    images = [_synthetic_image(rng, i, num_keypoints, true_rms) for i in range(num_images)]
    return [images[i : i + batch] for i in range(0, num_images, batch)]
