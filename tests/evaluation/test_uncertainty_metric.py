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
