"""SigmaCocoMetric scores keypoints by their expected OKS."""

import numpy as np

from mmpose_rle.evaluation import SigmaCocoMetric, expected_oks


def test_sigma_coco_metric_replaces_keypoint_scores(monkeypatch):
    metric = SigmaCocoMetric()  # no annotation file: nothing is evaluated here
    metric.dataset_meta = dict(dataset_name='toy', sigmas=np.array([0.05, 0.1]))
    seen = []
    monkeypatch.setattr(
        'mmpose.evaluation.metrics.CocoMetric.process',
        lambda self, batch, samples: seen.extend(samples),
    )
    sample = dict(
        input_size=(10, 10),
        input_scale=np.array([[20.0, 20.0]]),
        pred_instances=dict(
            keypoints=np.zeros((1, 2, 2)),
            keypoint_scores=np.ones((1, 2)),
            keypoint_sigmas=np.array([[[1.5, 2.5], [10.0, 0.5]]]),
            bboxes=np.array([[0.0, 0.0, 30.0, 30.0]]),
        ),
        gt_instances=dict(keypoints=np.zeros((1, 2, 2)), keypoints_visible=np.ones((1, 2))),
    )
    metric.process({}, [sample])
    expected = expected_oks(
        np.array([[[3.0, 5.0], [20.0, 1.0]]]), np.array([900.0]), np.array([0.05, 0.1])
    )
    np.testing.assert_allclose(seen[0]['pred_instances']['keypoint_scores'], expected, rtol=1e-6)
    # the sample the evaluator shares with its other metrics keeps the model's scores
    np.testing.assert_array_equal(sample['pred_instances']['keypoint_scores'], np.ones((1, 2)))


def test_bottomup_predictions_are_all_rescored_from_their_image_sigmas(monkeypatch):
    """A one-stage model's image: every prediction (the false positive too) is scored by
    its σ in image pixels and its own box; no ground truth is read."""
    metric = SigmaCocoMetric()
    metric.dataset_meta = dict(dataset_name='toy', sigmas=np.array([0.05, 0.1]))
    seen = []
    monkeypatch.setattr(
        'mmpose.evaluation.metrics.CocoMetric.process',
        lambda self, batch, samples: seen.extend(samples),
    )
    image_sigmas = np.array([[[3.0, 5.0], [20.0, 1.0]], [[1.0, 1.0], [2.0, 2.0]]])
    sample = dict(
        input_size=(64, 64),
        input_scale=np.array([128.0, 128.0]),
        pred_instances=dict(
            keypoints=np.zeros((2, 2, 2)),
            keypoint_scores=np.ones((2, 2)),
            keypoint_sigmas=image_sigmas / 3,  # not what the image's σ would be mapped from
            keypoint_sigmas_image=image_sigmas,
            bboxes=np.array([[0.0, 0.0, 30.0, 30.0], [100.0, 100.0, 110.0, 140.0]]),
        ),
    )
    metric.process({}, [sample])
    expected = expected_oks(image_sigmas, np.array([900.0, 400.0]), np.array([0.05, 0.1]))
    np.testing.assert_allclose(seen[0]['pred_instances']['keypoint_scores'], expected, rtol=1e-6)


def test_every_keypoints_expected_oks_counts_in_the_instance_score():
    """E[OKS_k] is an expectation, not a visibility confidence: no keypoint is dropped from
    the instance's mean unless the config asks for it."""
    assert SigmaCocoMetric().keypoint_score_thr == 0.0
    assert SigmaCocoMetric(keypoint_score_thr=0.2).keypoint_score_thr == 0.2
