"""UncertaintyMetric reads σ in input pixels, maps it to the image and ignores invisible
keypoints."""

import numpy as np
import pytest

from mmpose_rle.evaluation import UncertaintyMetric, errors_and_sigmas, uncertainty_metrics


def sample(errors, sigmas_input, visible, input_size=(64, 128), input_scale=(32.0, 512.0)):
    gt = np.zeros((1, len(errors), 2))
    return dict(
        input_size=input_size,
        input_scale=np.array([input_scale]),
        pred_instances=dict(
            keypoints=gt + np.array(errors)[None], keypoint_sigmas=np.array(sigmas_input)[None]
        ),
        gt_instances=dict(keypoints=gt, keypoints_visible=np.array([visible], float)),
    )


def test_sigmas_are_mapped_to_image_pixels():
    errors, sigmas, visible = errors_and_sigmas(sample([[1.0, 2.0]], [[2.0, 4.0]], [1]))
    np.testing.assert_allclose(sigmas[0, 0], [2.0 / 64 * 32, 4.0 / 128 * 512])
    np.testing.assert_allclose(errors[0, 0], [1.0, 2.0])
    assert visible.tolist() == [[True]]


def test_metric_equals_the_function_on_visible_keypoints():
    rng = np.random.default_rng(0)
    metric = UncertaintyMetric()
    samples, errs, sigs = [], [], []
    for _ in range(40):
        e, s = rng.normal(size=(3, 2)), rng.uniform(1, 3, size=(3, 2))
        vis = [1, 0, 1]
        samples.append(sample(e, s, vis, input_size=(10, 10), input_scale=(10.0, 10.0)))
        errs.append(e[[0, 2]])
        sigs.append(s[[0, 2]])
    metric.process({}, samples)
    got = metric.compute_metrics(metric.results)
    expected = uncertainty_metrics(np.concatenate(errs), np.concatenate(sigs))
    assert got == pytest.approx(expected)


def test_models_without_sigmas_give_no_numbers():
    metric = UncertaintyMetric()
    s = sample([[1.0, 2.0]], [[2.0, 4.0]], [1])
    del s['pred_instances']['keypoint_sigmas']
    metric.process({}, [s])
    with pytest.warns(UserWarning, match='no keypoint_sigmas'):
        assert metric.compute_metrics(metric.results) == {}


def bottomup_sample():
    """One image, 3 keypoints: ground truth A, B (keypoint 1 not visible), C (labelled, not
    predicted); predictions B', a false positive, A' with σ in image pixels."""
    return dict(
        input_size=(64, 64),
        input_scale=np.array([128.0, 128.0]),
        input_center=np.array([64.0, 64.0]),
        gt_instances=dict(
            bboxes=np.array([[0, 0, 40, 40], [50, 50, 90, 90], [100, 0, 120, 20]], float),
            keypoints=np.array(
                [[[10, 10], [20, 20], [30, 30]], [[60, 60], [70, 70], [80, 80]], [[110, 10]] * 3],
                float,
            ),
            keypoints_visible=np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], float),
        ),
        pred_instances=dict(
            bboxes=np.array([[51, 50, 90, 92], [0, 100, 10, 110], [1, 0, 40, 41]], float),
            keypoints=np.array(
                [[[61, 58], [0, 0], [80, 83]], [[5, 105]] * 3, [[11, 10], [20, 17], [37, 30]]],
                float,
            ),
            keypoint_sigmas=np.ones((3, 3, 2)),  # input pixels: ignored for the image's
            keypoint_sigmas_image=np.array(
                [[[2, 3], [1, 1], [4, 5]], [[9, 9]] * 3, [[1, 2], [3, 4], [5, 6]]], float
            ),
        ),
    )


def test_bottomup_errors_pair_each_ground_truth_with_its_prediction():
    errors, sigmas, visible = errors_and_sigmas(bottomup_sample())
    np.testing.assert_allclose(errors[0], [[1, 0], [0, -3], [7, 0]])  # A' − A
    np.testing.assert_allclose(errors[1], [[1, -2], [-70, -70], [0, 3]])  # B' − B
    np.testing.assert_allclose(sigmas, [[[1, 2], [3, 4], [5, 6]], [[2, 3], [1, 1], [4, 5]]])
    assert visible.tolist() == [[True, True, True], [True, False, True]]


def test_bottomup_metric_counts_visible_paired_keypoints_and_the_missing():
    metric = UncertaintyMetric()
    metric.process({}, [bottomup_sample()])
    got = metric.compute_metrics(metric.results)
    errors = np.array([[1, 0], [0, -3], [7, 0], [1, -2], [0, 3]], float)
    sigmas = np.array([[1, 2], [3, 4], [5, 6], [2, 3], [4, 5]], float)
    expected = uncertainty_metrics(errors, sigmas)
    assert got.pop('missing') == pytest.approx(1 / 3)  # C of A, B, C
    assert got == pytest.approx(expected)
    assert got['within_1sigma'] == pytest.approx(9 / 10)  # only 7 > 5 falls outside 1σ
    with pytest.raises(ValueError, match='data_mode'):
        UncertaintyMetric(data_mode='one_stage')


def test_top_down_samples_report_no_missing_share():
    metric = UncertaintyMetric()
    metric.process({}, [sample([[1.0, 2.0], [0.5, 0.5]], [[2.0, 4.0]] * 2, [1, 1])])
    assert 'missing' not in metric.compute_metrics(metric.results)


def test_bottomup_metric_with_no_pair_reports_only_the_missing_share():
    s = bottomup_sample()
    s['pred_instances']['bboxes'] += 300.0  # no prediction overlaps a ground-truth box
    metric = UncertaintyMetric()
    metric.process({}, [s])
    with pytest.warns(UserWarning, match='no visible keypoint'):
        assert metric.compute_metrics(metric.results) == {'missing': 1.0}
