"""Procedural videos: smooth ground truth, occlusion masks that match the drawn blocks."""

import cv2
import numpy as np
import pytest

from mmpose_rle.datasets import figure_video, write_video


def test_motion_is_smooth_and_inside_the_frame():
    for seed in range(4):
        video = figure_video(seed, num_frames=120, size=160)
        assert video.frames.shape == (120, 160, 160, 3) and video.keypoints.shape == (120, 11, 2)
        step = np.linalg.norm(np.diff(video.keypoints, axis=0), axis=-1)
        accel = np.linalg.norm(np.diff(video.keypoints, n=2, axis=0), axis=-1)
        assert step.max() < 8.0 and accel.max() < 2.0  # pixels per frame, per frame²
        assert (video.keypoints > 0).all() and (video.keypoints < 160).all()


def test_occluded_keypoints_are_under_a_block_and_seeds_repeat():
    video = figure_video(3, num_frames=80, size=96, corrupted_rate=0.0)
    again = figure_video(3, num_frames=80, size=96, corrupted_rate=0.0)
    np.testing.assert_array_equal(video.frames, again.frames)
    assert video.occluded.any() and not video.corrupted.any()
    clean = figure_video(3, num_frames=80, size=96, occlusions=0, corrupted_rate=0.0)
    np.testing.assert_array_equal(video.keypoints, clean.keypoints)  # same motion
    changed = np.abs(video.frames.astype(int) - clean.frames.astype(int)).sum(-1) > 0
    for t, k in zip(*np.nonzero(video.occluded)):
        x, y = np.round(video.keypoints[t, k]).astype(int)
        assert changed[t, min(y, 95), min(x, 95)]
    assert changed.any(axis=(1, 2)).mean() < 0.8  # blocks come and go


def test_corrupted_frames_differ_and_a_video_file_reads_back(tmp_path):
    video = figure_video(2, num_frames=40, size=64, occlusions=1, corrupted_rate=0.3)
    assert 0 < video.corrupted.sum() < 40
    path = write_video(video.frames, str(tmp_path / 'v.mp4'))
    cap = cv2.VideoCapture(path)
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 40
    with pytest.raises(ValueError, match='num_frames'):
        figure_video(0, num_frames=10)
