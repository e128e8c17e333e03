"""collect_predictions on a bottom-up model: one row per labelled ground-truth instance
paired with a prediction, errors and σ in the head's units (the instance size), unpaired
ground truth missing, not an error."""

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mmpose_rle.calibration import collect_predictions, instance_sizes, to_head_units
from mmpose_rle.evaluation import UncertaintyMetric, uncertainty_metrics
from tests.calibration.bottomup_fixtures import NoisyOracle, use_oracle

META = dict(img_id=7, input_size=(64, 48), input_scale=(160.0, 96.0), input_center=(80.0, 48.0))


def _hand_built_sample() -> PoseDataSample:
    """One image (image = input × (2.5, 2) + (0, 0)): ground truth A, B (labelled), C
    (labelled, not predicted) and D (no visible keypoint); predictions B', a false
    positive, A'; B' reaches past the input's right edge (x > 160 in the image)."""
    gt_boxes = [[20, 10, 70, 60], [100, 20, 150, 90], [0, 0, 10, 10], [60, 60, 80, 80]]
    gt_kps = [[[30, 20], [40, 30]], [[110, 30], [120, 40]], [[5, 5], [6, 6]], [[70, 70]] * 2]
    sample = PoseDataSample(metainfo=META)
    sample.gt_instances = InstanceData(
        bboxes=np.array(gt_boxes, np.float32),
        keypoints=np.array(gt_kps, np.float32),
        keypoints_visible=np.array([[1, 1], [1, 0], [1, 1], [0, 0]], np.float32),
    )
    sample.pred_instances = InstanceData(
        bboxes=np.array([[102, 22, 170, 92], [130, 0, 140, 4], [22, 10, 72, 60]], np.float32),
        keypoints=np.array([[[112, 31], [0, 0]], [[0, 0]] * 2, [[35, 18], [40, 34]]], np.float32),
        keypoint_sigmas=np.array([[[1, 2], [3, 4]], [[9, 9]] * 2, [[2, 1], [4, 3]]], np.float32),
        keypoint_scores=np.array([[0.9, 0.8], [0.1, 0.1], [0.7, 0.6]], np.float32),
    )
    return sample


def test_hand_built_image_in_head_units(one_stage, monkeypatch):
    model, _ = one_stage
    sample = _hand_built_sample()
    monkeypatch.setattr(model, 'test_step', lambda batch: batch)
    got = collect_predictions(model, [[sample]])
    # pairs (gt, pred): A–2, B–0. Sizes in input pixels (÷ 2.5 in x, ÷ 2 in y), clamped:
    # A' [8.8, 5, 28.8, 30] → √(20 · 25); B' [40.8, 11, 68 → 64 (the clamp), 46] → √(23.2 · 35)
    s_a, s_b = np.sqrt(20 * 25), np.sqrt(23.2 * 35)
    errors = (
        np.array([[[5 / 2.5, -2 / 2], [0, 4 / 2]], [[2 / 2.5, 1 / 2], [-120 / 2.5, -40 / 2]]])
        / np.array([s_a, s_b])[:, None, None]
    )
    sigmas = np.array([[[2, 1], [4, 3]], [[1, 2], [3, 4]]]) / np.array([s_a, s_b])[:, None, None]
    np.testing.assert_allclose(got['errors'], errors, rtol=1e-5)
    np.testing.assert_allclose(got['sigmas'], sigmas, rtol=1e-5)
    assert got['visible'].tolist() == [[True, True], [True, False]]
    np.testing.assert_allclose(got['scores'], [[0.7, 0.6], [0.9, 0.8]])
    np.testing.assert_allclose(got['scale'], [[s_a * 2.5, s_a * 2], [s_b * 2.5, s_b * 2]])
    assert got['groups'].tolist() == [7, 7] and got['missing'].tolist() == [7]  # C, not D
    assert to_head_units(model.head, got) is got


def test_the_heads_own_instance_sizes_come_first(one_stage, monkeypatch):
    """A head that predicts ``instance_sizes`` (any residual unit, e.g. strides) is
    normalised by them, not by its boxes."""
    model, _ = one_stage
    sample = _hand_built_sample()
    sample.pred_instances.instance_sizes = np.array([8.0, 99.0, 16.0], np.float32)
    monkeypatch.setattr(model, 'test_step', lambda batch: batch)
    got = collect_predictions(model, [[sample]])
    sigmas = np.array([[[2, 1], [4, 3]], [[1, 2], [3, 4]]]) / np.array([16.0, 8.0])[:, None, None]
    np.testing.assert_allclose(got['sigmas'], sigmas, rtol=1e-6)


def test_instance_sizes_are_the_heads(one_stage):
    head = one_stage[0].head
    boxes = np.array([[22, 10, 72, 60], [100, 0, 101, 200]], np.float64)
    got = instance_sizes(boxes, META)
    inputs = torch.tensor([[8.8, 5, 28.8, 30], [40, 0, 40.4, 48]], dtype=torch.float64)
    np.testing.assert_allclose(got, head.instance_frame(inputs, torch.zeros(2))[1], rtol=1e-6)
    assert got[1] == pytest.approx(np.sqrt(1 * 48))  # widths below a pixel count as one


def test_a_real_model_pass_pairs_every_labelled_instance(one_stage, monkeypatch):
    """The estimator maps the oracle's predictions to the image and collect maps them back:
    the errors and σ are those the oracle drew, in head units."""
    model, loader = one_stage
    model.head.sigma_calibration.reset_()
    oracle = use_oracle(monkeypatch, NoisyOracle(factor=2.0))
    got = collect_predictions(model, loader, keep_samples=True)
    labelled = [np.asarray(s.gt_instances.keypoints_visible).max(1) > 0 for s in got['samples']]
    count, k = sum(int(m.sum()) for m in labelled), model.head.num_keypoints
    assert count >= 8 and got['missing'].shape == (0,)  # every labelled figure predicted
    assert got['errors'].shape == got['sigmas'].shape == (count, k, 2)
    assert got['visible'].shape == got['scores'].shape == (count, k)
    ids = [s.metainfo['img_id'] for s in got['samples']]
    assert got['groups'].tolist() == [i for i, m in zip(ids, labelled) for _ in range(m.sum())]
    drawn = [oracle.drawn[i] for i in ids]
    sigma_hat = np.concatenate([d[0][m] for d, m in zip(drawn, labelled)])
    errors = np.concatenate([d[1][m] for d, m in zip(drawn, labelled)])
    rms = sigma_hat * model.head.residual_rms().numpy()
    np.testing.assert_allclose(got['sigmas'], rms, rtol=1e-4)
    np.testing.assert_allclose(got['errors'], errors, atol=2e-5)


def test_the_metrics_see_the_same_pairs_in_image_pixels(one_stage, monkeypatch):
    """UncertaintyMetric on the predicted samples (as MMEngine's evaluator hands them over,
    dicts) equals the metrics of collect's errors and σ scaled back to image pixels."""
    model, loader = one_stage
    model.head.sigma_calibration.reset_()
    use_oracle(monkeypatch, NoisyOracle(factor=1.5))
    got = collect_predictions(model, loader, keep_samples=True)
    metric = UncertaintyMetric()
    metric.process({}, [s.to_dict() for s in got['samples']])
    metrics = metric.compute_metrics(metric.results)
    scale, visible = got['scale'][:, None], got['visible']
    expected = uncertainty_metrics(
        (got['errors'] * scale)[visible], (got['sigmas'] * scale)[visible]
    )
    assert metrics.pop('missing') == 0
    assert metrics == pytest.approx(expected, rel=1e-4, abs=1e-6)
