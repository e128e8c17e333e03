"""Size and speed of one model: what is measured and how the figures relate."""

import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_rle.benchmark import make_variant
from mmpose_rle.benchmark.speed import (
    flip_settings,
    head_step,
    measure_speed,
    median_time,
    packed_batch,
)
from tests.helpers import QUICKSTART_CONFIG, ROOT


@pytest.fixture(scope='module')
def model():
    init_default_scope('mmpose')
    torch.manual_seed(0)
    return MODELS.build(make_variant(Config.fromfile(str(QUICKSTART_CONFIG)), 'rle').model)


def test_median_time_skips_the_warmup():
    durations = iter([0.05, 0.05, 0.03, 0.0, 0.01])  # two warm-up calls, then three timed

    def fn():
        time.sleep(next(durations))

    assert 0.01 <= median_time(fn, warmup=2, repeats=3) < 0.03


def test_packed_batch_has_labels_for_every_head():
    data = packed_batch(3, (48, 32), num_keypoints=5)
    assert [x.shape for x in data['inputs']] == [(3, 32, 48)] * 3  # (C, h, w) of input (w, h)
    for sample in data['data_samples']:
        assert sample.metainfo['flip_indices'] == [0, 1, 2, 3, 4]
        assert sample.gt_instance_labels.keypoint_labels.shape == (1, 5, 2)
        assert sample.gt_fields.heatmaps.shape == (5, 8, 12)  # a quarter of the input
        labels = sample.gt_instance_labels  # the one-stage heads' labels
        box = labels.bboxes[0]
        assert labels.keypoints.shape == (1, 5, 2) and labels.labels.tolist() == [0]
        assert float(labels.areas[0]) == pytest.approx(float((box[2] - box[0]) * (box[3] - box[1])))


def test_head_step_trains_the_head_on_fixed_features(model):
    model.train()
    model.zero_grad(set_to_none=True)
    head_step(model, model.data_preprocessor(packed_batch(2, (64, 64), 11), True))()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.head.parameters() if p.requires_grad)
    model.zero_grad(set_to_none=True)


def test_measured_figures_relate_as_defined(model):
    model.test_cfg['flip_test'] = True
    speed = measure_speed(model, (64, 64), 11, batch_sizes=[2], train_batch=2, repeats=1)
    params = sum(p.numel() for p in model.parameters())
    assert speed['params'] == params / 1e6
    assert speed['throughput_b2'] == 2 / speed['latency_b2']
    assert speed['throughput_b2_flip'] == 2 / speed['latency_b2_flip']
    assert speed['overhead_b2'] == pytest.approx(
        speed['latency_b2'] / speed['latency_b2_features'] - 1
    )
    assert 0 < speed['head_share'] and speed['flops'] > 0
    assert speed['memory_mb'] > 16 * params / 2**20  # weights, gradients, Adam's moments
    assert model.test_cfg['flip_test'] is True and not model.training  # restored


def test_one_stage_models_are_timed_without_flip_test_and_train_on_the_batch():
    base = Config.fromfile(str(ROOT / 'configs/own_data/yoloxpose-rle_tiny_openfield-320.py'))
    init_default_scope('mmpose')
    torch.manual_seed(0)
    model = MODELS.build(base.model)
    assert flip_settings(model) == (False,) and flip_settings(_quickstart_model()) == (False, True)
    speed = measure_speed(model, (64, 64), 4, batch_sizes=[1], train_batch=2, repeats=1)
    assert 'latency_b1' in speed and 'latency_b1_flip' not in speed
    # a ratio of two timings: positive and finite (a busy machine can put one sample above 1)
    assert 0 < speed['head_share'] < float('inf') and speed['train_step'] > 0


def _quickstart_model():
    init_default_scope('mmpose')
    return MODELS.build(make_variant(Config.fromfile(str(QUICKSTART_CONFIG)), 'rle').model)
