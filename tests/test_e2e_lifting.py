"""End to end: MMPose's Human3.6M lifting configs with our head, on procedural skeletons.

The shipped 3-D configs inherit MMPose's with only the head swapped; built as they are (the
data root aside), they take a training step on procedural samples read by MMPose's own
``Human36mDataset`` and pipelines, and MMPose's ``MPJPE`` metric evaluates the predictions
in its three modes."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.registry import DATASETS, METRICS, MODELS

from mmpose_rle.datasets import SyntheticLifting, generate_synthetic_lifting
from mmpose_rle.models import RLELiftingHead
from tests.helpers import ROOT

H36M = {
    'image': (
        'configs/body_3d_keypoint/image_pose_lift/h36m/image-pose-lift_tcn_rle-8xb64-200e_h36m.py',
        'mmpose::body_3d_keypoint/image_pose_lift/h36m/image-pose-lift_tcn_8xb64-200e_h36m.py',
    ),
    'video-27': (
        'configs/body_3d_keypoint/video_pose_lift/h36m/'
        'video-pose-lift_tcn-27frm-supv_rle-8xb128-160e_h36m.py',
        'mmpose::body_3d_keypoint/video_pose_lift/h36m/video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py',
    ),
}
CONFIGS_3D = sorted((ROOT / 'configs/body_3d_keypoint').rglob('*.py')) + sorted(
    (ROOT / 'configs/quickstart3d').glob('*.py')
)


@pytest.fixture(scope='module')
def lifting_root(tmp_path_factory):
    params = SyntheticLifting(num_train_videos=2, num_val_videos=1, frames=30, outlier_rate=0.1)
    return generate_synthetic_lifting(str(tmp_path_factory.mktemp('lifting')), params)


def load(path, data_root=None) -> Config:
    cfg = Config.fromfile(str(ROOT / path))
    if data_root is not None:
        for loader in ('train_dataloader', 'val_dataloader'):
            cfg[loader].dataset.data_root = str(data_root)
    return cfg


def batch(cfg: Config, loader: str, size: int = 4) -> dict:
    dataset = DATASETS.build(cfg[loader].dataset)
    return pseudo_collate([dataset[i] for i in range(0, len(dataset), len(dataset) // size)][:size])


@pytest.mark.parametrize('name', list(H36M))
def test_h36m_config_is_mmposes_with_the_head_swapped(name, tmp_path):
    ours = load(H36M[name][0])
    base_file = tmp_path / 'base.py'
    base_file.write_text(f'_base_ = [{H36M[name][1]!r}]\n')
    base = Config.fromfile(str(base_file))
    assert set(ours) - set(base) == {'custom_imports'}
    for key in base:
        if key != 'model':
            assert ours[key] == base[key], key
    assert {k: v for k, v in ours.model.items() if k != 'head'} == {
        k: v for k, v in base.model.items() if k != 'head'
    }
    assert ours.model.head.type == 'mmpose_rle.RLELiftingHead'
    assert ours.model.head.decoder == base.codec


@pytest.mark.parametrize('path', CONFIGS_3D, ids=lambda p: p.name)
def test_3d_configs_build_with_the_codec_of_their_pipeline(path, monkeypatch, tmp_path):
    monkeypatch.setenv('MMPOSE_RLE_LIFTING_ROOT', str(tmp_path))
    cfg = Config.fromfile(str(path))
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    encoders = [
        t['encoder'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'GenerateTarget'
    ]
    assert [dict(e, _scope_=None) for e in encoders] == [dict(cfg.model.head.decoder, _scope_=None)]
    if '_mse_' in path.name:  # the quick start's baseline: MMPose's head with MSELoss
        assert type(model.head).__name__ == 'TemporalRegressionHead'
        assert type(model.head.loss_module).__name__ == 'MSELoss'
    else:
        assert isinstance(model.head, RLELiftingHead)
        assert model.head.loss_module.flow_model.dim == 3


@pytest.mark.parametrize('name', list(H36M))
def test_h36m_config_trains_a_step_and_mmposes_mpjpe_evaluates(name, lifting_root):
    cfg = load(H36M[name][0], lifting_root)
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.head.parameters()]
    losses = model.train_step(batch(cfg, 'train_dataloader'), optim)
    assert set(losses) >= {'loss_pose3d', 'mpjpe', 'nll'} and torch.isfinite(losses['loss'])
    assert all(not torch.equal(a, b) for a, b in zip(before, model.head.parameters()))

    model.eval()
    outputs = model.val_step(batch(cfg, 'val_dataloader'))
    pred = np.concatenate([o.pred_instances.keypoints for o in outputs])
    gt = np.concatenate([o.gt_instances.lifting_target for o in outputs])
    assert pred.shape == gt.shape == (4, 17, 3)
    # the root is known: put back by the image codec, pinned to its label 0 by the video one
    np.testing.assert_allclose(pred[:, 0], gt[:, 0], atol=1e-6)
    for out in outputs:
        sigmas = out.pred_instances.keypoint_sigmas
        assert sigmas.shape == (1, 17, 3) and (sigmas[:, 1:] > 0).all()
    mask = np.ones(gt.shape[:2], dtype=bool)
    for mode, alignment in (('mpjpe', 'none'), ('p-mpjpe', 'procrustes'), ('n-mpjpe', 'scale')):
        metric = METRICS.build(dict(type='MPJPE', mode=mode))
        metric.process([], [o.to_dict() for o in outputs])
        value = metric.compute_metrics(metric.results)[mode.upper()]
        assert value == pytest.approx(keypoint_mpjpe(pred, gt, mask, alignment), rel=1e-6)
