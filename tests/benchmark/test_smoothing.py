"""The smoothing benchmark's filters and table on predictions of known quality."""

import numpy as np

from mmpose_rle.benchmark.smoothing import (
    CUTOFFS,
    MEDIAN_WINDOWS,
    cutoff_interpolate,
    filter_errors,
    smoothing_markdown,
)
from mmpose_rle.datasets import figure_video


def test_cutoff_interpolates_dropped_keypoints_linearly():
    xy = np.zeros((5, 1, 2))
    xy[:, 0, 0] = [0.0, 50.0, 2.0, 3.0, 4.0]
    scores = np.array([[0.9], [0.1], [0.9], [0.9], [0.9]])
    out = cutoff_interpolate(xy, scores, 0.5)
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(cutoff_interpolate(xy, scores, 0.05), xy)


def test_sigma_smoothing_wins_where_sigma_flags_the_gross_errors():
    video = figure_video(1, num_frames=60, size=96)
    rng = np.random.default_rng(0)
    sigmas = np.full(video.keypoints.shape, 1.5)
    pred = video.keypoints + rng.normal(size=sigmas.shape) * sigmas
    gross = rng.random(video.keypoints.shape[:2]) < 0.1
    pred[gross] += rng.normal(scale=25.0, size=(gross.sum(), 2))
    sigmas[gross] = 25.0
    scores = np.where(gross, 0.2, 0.9)
    errors = filter_errors(video, pred, sigmas, scores)
    raw = errors['raw']['all']
    assert errors['kalman, σ']['all'] < 0.5 * raw
    assert errors['kalman, σ']['all'] < errors['kalman, constant σ']['all']
    assert errors['kalman, σ']['all'] < errors['median']['all']
    assert errors['median']['window'] in MEDIAN_WINDOWS and errors['cut-off']['cutoff'] in CUTOFFS
    assert errors['median']['all'] == min(errors[f'median {w}']['all'] for w in MEDIAN_WINDOWS)
    table = smoothing_markdown([errors, errors])
    assert '| kalman, σ |' in table and f'{errors["kalman, σ"]["all"]:.2f} ± 0.00' in table
