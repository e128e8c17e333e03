"""Every shipped 2-D config parses and builds; swap configs are three statements (plus
imports and the σ visualizer).

(The 3-D lifting configs, ``configs/body_3d_keypoint`` and ``configs/quickstart3d``, are
checked by ``tests/test_e2e_lifting.py``.)"""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from mmpose.testing import get_packed_inputs

from mmpose_rle.models import BaseRLEHead
from tests.helpers import ROOT

CONFIGS_2D = ('body_2d_keypoint', 'swap', 'own_data', 'quickstart')
CONFIGS = sorted(
    p
    for d in CONFIGS_2D
    for p in (ROOT / 'configs' / d).rglob('*.py')
    if not p.name.startswith(('yoloxpose', 'rtmo'))  # one-stage: tests/test_configs_one_stage.py
)
SWAPS = sorted((ROOT / 'configs/swap').glob('*.py'))


def write_mouse_coco(path: Path, images: int) -> None:
    """A COCO keypoint file of ``images`` 8×8 images, one 4-keypoint mouse in each."""
    anns = [
        dict(
            id=i + 1,
            image_id=i + 1,
            category_id=1,
            bbox=[0, 0, 8, 8],
            area=64,
            iscrowd=0,
            num_keypoints=4,
            keypoints=[4, 4, 2] * 4,
        )
        for i in range(images)
    ]
    imgs = [dict(id=i + 1, file_name=f'{i}.png', width=8, height=8) for i in range(images)]
    categories = [dict(id=1, name='mouse')]
    path.write_text(json.dumps(dict(images=imgs, annotations=anns, categories=categories)))


def test_configs_are_found():
    assert len(CONFIGS) >= 12 and len(SWAPS) == 4


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(ROOT / 'configs')))
def test_config_builds_a_model_with_our_head(path, monkeypatch, tmp_path):
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tmp_path))
    cfg = Config.fromfile(str(path))
    assert 'mmpose_rle' in cfg.custom_imports['imports']
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    assert isinstance(model.head, BaseRLEHead)
    encoders = [
        t['encoder'] for t in cfg.train_dataloader.dataset.pipeline if t['type'] == 'GenerateTarget'
    ]
    assert [e['type'] for e in encoders] == ['RegressionLabel']
    assert model.head.decoder.input_size == tuple(encoders[0]['input_size'])


@pytest.mark.parametrize('path', SWAPS, ids=lambda p: p.name)
def test_swap_is_at_most_three_statements_plus_imports_and_visualizer(path):
    """From a heatmap config: codec, model and pipeline; from an RLE config: the model; plus
    the visualizer that draws σ."""
    names = [
        t.id
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.Assign)
        for t in node.targets
    ]
    from_rle = path.name.startswith('td-reg_')
    expected = ['model'] if from_rle else ['codec', 'model', 'train_dataloader']
    assert names == ['_base_', 'custom_imports', 'visualizer', *expected]


def test_hand_swap_trains_with_21_keypoints():
    cfg = Config.fromfile(
        str(ROOT / 'configs/swap/td-hm_res50_8xb32-210e_onehand10k-256x256_to_rle.py')
    )
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    assert model.head.num_joints == 21 and model.head.in_channels == 2048
    data = get_packed_inputs(
        1,
        num_keypoints=21,
        img_shape=(256, 256),
        input_size=(256, 256),
        with_heatmap=False,
        with_simcc_label=False,
    )
    losses = model.loss(*model.data_preprocessor(data, True).values())
    assert torch.isfinite(losses['loss_kpt'])


def test_dense_own_data_config_scores_keypoints_by_their_expected_oks(monkeypatch, tmp_path):
    """The head scores keypoints by E[OKS] with the metainfo's OKS sigmas, and COCO AP
    counts every keypoint's score (threshold 0), beside PCK, AUC and EPE."""
    from mmengine.evaluator import Evaluator

    write_mouse_coco(tmp_path / 'val.json', 0)
    monkeypatch.setenv('OPENFIELD_ROOT', str(tmp_path))
    cfg = Config.fromfile(str(ROOT / 'configs/own_data/dense-rle_res18_openfield-128x128.py'))
    init_default_scope('mmpose')
    head = MODELS.build(cfg.model).head
    assert head.keypoint_score == 'expected_oks'
    np.testing.assert_array_equal(head.oks_sigmas, cfg.metainfo['sigmas'])
    metrics = Evaluator(cfg.test_evaluator).metrics
    names = [type(m).__name__ for m in metrics]
    assert names == ['PCKAccuracy', 'AUC', 'EPE', 'CocoMetric']
    assert metrics[-1].keypoint_score_thr == 0.0


@pytest.mark.parametrize('images, times', [(23, 4), (46, 2), (93, 1)])
def test_own_data_epochs_have_at_least_80_samples(images, times, monkeypatch, tmp_path):
    """A few dozen images are repeated within each epoch (as ``tools/train.py`` builds the
    loader), so the schedule keeps its steps; 80 or more are drawn once."""
    from collections import Counter

    from mmengine.runner import Runner

    from mmpose_rle.engine import wrap_seeded

    write_mouse_coco(tmp_path / 'train.json', images)
    monkeypatch.setenv('OPENFIELD_ROOT', str(tmp_path))
    cfg = Config.fromfile(str(ROOT / 'configs/own_data/dense-rle_res18_openfield-128x128.py'))
    init_default_scope('mmpose')
    loader = dict(wrap_seeded(cfg.train_dataloader), num_workers=0, persistent_workers=False)
    sampler = Runner.build_dataloader(loader).sampler
    counts = Counter(index for _, index in sampler)
    assert len(sampler) == times * images >= min(80, images)
    assert counts == {i: times for i in range(images)}
