"""error_quantiles: percentiles of the visible keypoints' Euclidean error."""

import numpy as np
import pytest

from mmpose_rle.benchmark.error_quantiles import error_quantiles


def test_quantiles_of_the_visible_keypoints_euclidean_error():
    # 3-4-5 triangles scaled by 1..4, one invisible keypoint with a huge error
    errors = np.array([[[3.0, 4.0], [6.0, 8.0]], [[9.0, 12.0], [300.0, 400.0]]])
    visible = np.array([[1, 1], [1, 0]])
    out = error_quantiles(dict(errors=errors, visible=visible))
    assert out['error/q50'] == pytest.approx(10.0)  # median of 5, 10, 15
    assert out['error/q90'] == pytest.approx(14.0)  # linear interpolation: 10 + 0.8 · 5
    assert error_quantiles(dict(errors=errors, visible=np.zeros((2, 2)))) == {}
