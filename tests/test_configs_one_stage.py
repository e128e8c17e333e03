"""Every one-stage config of ours parses, builds, and takes a training step through its own
training pipeline (on a few procedural crowd images relabelled to its keypoint count), and
the RLE configs are their baselines with only the head swapped."""

import json
from pathlib import Path
from typing import Tuple

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.registry import DATASETS, MODELS, TRANSFORMS
from torch import Tensor

from mmpose_rle.datasets import SyntheticCrowds, generate_synthetic_crowds
from mmpose_rle.models import RTMORLEHead, YOLOXPoseRLEHead
from tests.helpers import ROOT

CONFIGS = sorted(
    [
        *(ROOT / 'configs/one_stage').glob('*.py'),
        *(ROOT / 'configs/own_data').glob('yoloxpose*.py'),
        *(ROOT / 'configs/body_2d_keypoint/yoloxpose').rglob('*.py'),
        *(ROOT / 'configs/body_2d_keypoint/rtmo').rglob('*.py'),
    ]
)
PAIRS = [
    ('one_stage/yoloxpose_tiny_crowds-192.py', 'one_stage/yoloxpose-rle_tiny_crowds-192.py'),
    ('own_data/yoloxpose_tiny_openfield-320.py', 'own_data/yoloxpose-rle_tiny_openfield-320.py'),
    ('one_stage/rtmo_tiny_crowds-192.py', 'one_stage/rtmo-rle_tiny_crowds-192.py'),
]
#: Our one-stage RLE heads and the MMPose head each swaps in for.
SWAPS = {'mmpose_rle.YOLOXPoseRLEHead': 'YOLOXPoseHead', 'mmpose_rle.RTMORLEHead': 'RTMOHead'}


@pytest.fixture(scope='module')
def crowds(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('crowds')
    params = SyntheticCrowds(num_train=4, num_val=2, image_size=96, min_figures=2, seed=3)
    return generate_synthetic_crowds(str(root), params, progress=False)


def _relabelled(crowds: Path, num_keypoints: int, out: Path) -> Path:
    """``crowds``' training set with each figure's keypoints cycled to ``num_keypoints``."""
    coco = json.loads((crowds / 'train.json').read_text())
    for ann in coco['annotations']:
        points = [ann['keypoints'][3 * (k % 11) : 3 * (k % 11) + 3] for k in range(num_keypoints)]
        ann['keypoints'] = [v for p in points for v in p]
        ann['num_keypoints'] = sum(p[2] > 0 for p in points)
    path = out / f'train_{num_keypoints}.json'
    path.write_text(json.dumps(coco))
    return path


def test_configs_are_found():
    assert len(CONFIGS) >= 6


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(ROOT / 'configs')))
def test_config_builds_and_takes_a_training_step(path, crowds, tmp_path, monkeypatch):
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(crowds))
    cfg = Config.fromfile(str(path))
    assert 'mmpose_rle' in cfg.custom_imports['imports'] and cfg.data_mode == 'bottomup'
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.backbone.init_cfg = None  # no pretrained download in tests
    model.init_weights()
    assert isinstance(model.head, YOLOXPoseHead)
    num_keypoints = model.head.num_keypoints
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(
        data_root=str(crowds) + '/',
        ann_file=str(_relabelled(crowds, num_keypoints, tmp_path)),
        data_prefix=dict(img='images/'),
    )
    dataset = DATASETS.build(dataset_cfg)
    batch = pseudo_collate([dataset[i] for i in range(2)])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    before = [p.detach().clone() for p in model.parameters()]
    model.train()
    MessageHub.get_current_instance().update_info('iter', 0)  # batch resizing reads it
    logs = model.train_step(batch, optim)
    assert all(torch.isfinite(v).all() for v in logs.values())
    if isinstance(model.head, (YOLOXPoseRLEHead, RTMORLEHead)):
        assert 'loss_rle' in logs and torch.isfinite(logs['loss_rle'])
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed > 0


@pytest.mark.parametrize('base, rle', PAIRS)
def test_rle_config_is_its_baseline_with_the_head_swapped(base, rle, monkeypatch, tmp_path):
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(tmp_path))
    ours = Config.fromfile(str(ROOT / 'configs' / rle)).to_dict()
    theirs = Config.fromfile(str(ROOT / 'configs' / base)).to_dict()
    head, base_head = ours['model'].pop('head'), theirs['model'].pop('head')
    assert ours == theirs
    assert SWAPS[head['type']] == base_head['type']
    extra = {k: v for k, v in head.items() if k not in base_head or k == 'type'}
    assert (
        {'type', 'loss_rle', 'metainfo'}
        <= set(extra)
        <= {
            'type',
            'loss_rle',
            'metainfo',
            'loss_rle_weight',
        }
    )


def _built(path: Path, seed: int) -> Tuple[torch.nn.Module, Tensor]:
    """The config's model built from ``seed``, the next draws of the random stream after
    building, and the model initialised as the runner does."""
    cfg = Config.fromfile(str(path))
    init_default_scope('mmpose')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    state = torch.random.get_rng_state()
    after_build = torch.rand(4)
    torch.random.set_rng_state(state)
    model.init_weights()
    return model, after_build


@pytest.mark.parametrize('base, rle', PAIRS)
def test_rle_model_starts_from_its_baselines_weights(base, rle, crowds, monkeypatch):
    """At one seed every weight the two models share is drawn the same, so a benchmark pair
    differs in the RLE term only."""
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(crowds))
    theirs, theirs_stream = _built(ROOT / 'configs' / base, seed=3)
    ours, ours_stream = _built(ROOT / 'configs' / rle, seed=3)
    assert torch.equal(ours_stream, theirs_stream)
    theirs_state, ours_state = theirs.state_dict(), ours.state_dict()
    assert set(theirs_state) < set(ours_state)
    for name, value in theirs_state.items():
        assert torch.equal(value, ours_state[name]), name


#: (config, image size (w, h) of its data): training must see instances at the test's scale.
SCALES = [
    ('own_data/yoloxpose_tiny_openfield-320.py', (640, 480)),
    ('one_stage/yoloxpose_tiny_crowds-192.py', (192, 192)),
]


@pytest.mark.parametrize('name, image_size', SCALES)
def test_training_sees_instances_at_the_test_scale(name, image_size, crowds, monkeypatch):
    """The training affine without its random part maps a box as ``BottomupResize`` maps
    the image at test time (same factor, image pixels to input pixels)."""
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(crowds))
    cfg = Config.fromfile(str(ROOT / 'configs' / name))
    (affine,) = [t for t in cfg.train_pipeline if t['type'] == 'BottomupRandomAffine']
    (resize,) = [t for t in cfg.val_pipeline if t['type'] == 'BottomupResize']
    affine = dict(
        affine, shift_factor=0.0, rotate_factor=0.0, shear_factor=0.0, scale_factor=(1.0, 1.0)
    )
    w, h = image_size
    image = np.zeros((h, w, 3), np.uint8)
    box = np.array([[0.25 * w, 0.25 * h, 0.75 * w, 0.75 * h]], np.float32)
    trained = TRANSFORMS.build(affine)(
        dict(
            img=image.copy(),
            img_shape=(h, w),
            bbox=box.copy(),
            keypoints=np.zeros((1, 1, 2), np.float32),
            keypoints_visible=np.ones((1, 1), np.float32),
        )
    )
    tested = TRANSFORMS.build(resize)(dict(img=image.copy(), img_shape=(h, w), ori_shape=(h, w)))
    test_factor = np.asarray(tested['input_size'], float) / np.asarray(tested['input_scale'])
    train_factor = (trained['bbox'][0, 2:] - trained['bbox'][0, :2]) / (box[0, 2:] - box[0, :2])
    np.testing.assert_allclose(train_factor, test_factor, rtol=1e-3)


@pytest.mark.parametrize(
    'name', ['one_stage/yoloxpose-rle_tiny_crowds-192.py', 'one_stage/rtmo-rle_tiny_crowds-192.py']
)
def test_training_on_the_crowds_lowers_the_loss(name, crowds, monkeypatch):
    """Forty optimiser steps of the config's model and optimiser on one batch of four
    multi-figure crowd images (its training pipeline applied once): the summed loss and the
    RLE term both fall."""
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(crowds))
    cfg = Config.fromfile(str(ROOT / 'configs' / name))
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert all(len(dataset.get_data_info(i)['bbox']) >= 2 for i in range(4))  # several figures
    batch = pseudo_collate([dataset[i] for i in range(4)])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    MessageHub.get_current_instance().update_info('iter', 0)
    logs = []
    for _ in range(40):
        step = model.train_step(batch, optim)
        logs.append({k: float(v) for k, v in step.items()})
    first, last = logs[:5], logs[-5:]
    for key in ('loss', 'loss_rle'):
        before = np.mean([log[key] for log in first])
        after = np.mean([log[key] for log in last])
        assert after < before - 0.1 * abs(before), (key, before, after)
