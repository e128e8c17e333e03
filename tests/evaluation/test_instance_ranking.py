"""Instance OKS against COCO's formula; the ranking of scores; oracle scores."""

import numpy as np
import pytest

from mmpose_rle.evaluation import instance_oks, oracle_keypoint_scores, score_ranking


def test_instance_oks_follows_coco_formula_over_visible_keypoints():
    rng = np.random.default_rng(0)
    areas, oks_sigmas = np.array([400.0, 2500.0]), np.array([0.025, 0.05, 0.1])
    # an error of radius r with r² = 2 s² κ² t gives exp(−t) for that keypoint
    t = np.array([[0.5, 1.0, 2.0], [0.1, 3.0, 0.0]])
    radius = np.sqrt(2 * areas[:, None] * (2 * oks_sigmas[None]) ** 2 * t)
    angle = rng.uniform(0, 2 * np.pi, size=t.shape)
    errors = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
    visible = np.array([[True, True, True], [True, False, True]])
    errors[1, 1] = 1e6  # an unlabelled keypoint's error does not count
    got = instance_oks(errors, areas, oks_sigmas, visible)
    expected = [np.exp(-t[0]).mean(), (np.exp(-0.1) + 1.0) / 2]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_instance_oks_is_nan_without_visible_keypoints_and_checks_shapes():
    got = instance_oks(np.zeros((1, 2, 2)), np.ones(1), np.ones(2), np.zeros((1, 2), bool))
    assert np.isnan(got).all()
    with pytest.raises(ValueError, match='same'):
        instance_oks(np.zeros((2, 2, 2)), np.ones(1), np.ones(2), np.ones((2, 2), bool))


def test_score_ranking_is_rank_based_and_drops_nan():
    oks = np.array([0.1, 0.5, 0.9, np.nan, 0.3])
    assert score_ranking(np.exp(10 * np.nan_to_num(oks)), oks) == pytest.approx(1.0)
    assert score_ranking(-np.nan_to_num(oks), oks) == pytest.approx(-1.0)
    assert np.isnan(score_ranking(np.ones(2), np.ones(2)))


def test_oracle_scores_repeat_each_instance_oks():
    scores = oracle_keypoint_scores(np.array([0.7, np.nan]), 3)
    assert scores.tolist() == [[0.7] * 3, [0.0] * 3]
