"""σ ellipses: MMPose's visualizer subclass draws the predicted σ."""

import numpy as np
from mmengine.structures import InstanceData
from mmpose.registry import VISUALIZERS
from mmpose.structures import PoseDataSample

import mmpose_rle  # noqa: F401
from mmpose_rle.visualization import SigmaPoseLocalVisualizer

META = dict(
    keypoint_id2name={0: 'a', 1: 'b'},
    keypoint_name2id={'a': 0, 'b': 1},
    keypoint_colors=np.array([[255, 0, 0], [0, 255, 0]]),
    skeleton_links=[],
    skeleton_link_colors=np.zeros((0, 3)),
    num_keypoints=2,
)


def extent(mask: np.ndarray):
    ys, xs = np.nonzero(mask)
    return (xs.max() - xs.min()) / 2, (ys.max() - ys.min()) / 2


def sample(sigmas: np.ndarray, scores=(0.9, 0.9)) -> PoseDataSample:
    data = PoseDataSample()
    data.pred_instances = InstanceData(
        keypoints=np.array([[[60.0, 40.0], [20.0, 100.0]]]),
        keypoint_scores=np.array([scores]),
        keypoints_visible=np.array([scores]),
        keypoint_sigmas_image=sigmas,
    )
    return data


def test_the_visualizer_draws_an_ellipse_whose_axes_match_sigma():
    vis = VISUALIZERS.build(
        dict(type='mmpose_rle.SigmaPoseLocalVisualizer', name='sigma_test', sigma_scale=2.0)
    )
    assert isinstance(vis, SigmaPoseLocalVisualizer)
    vis.set_dataset_meta(META)
    vis.radius = 1
    img = np.zeros((160, 120, 3), np.uint8)
    sigmas = np.array([[[12.0, 6.0], [4.0, 9.0]]])
    drawn = vis.add_datasample('x', img, sample(sigmas), draw_gt=False, draw_bbox=False)
    for k, channel in ((0, 0), (1, 1)):  # keypoint a is drawn in red, b in green
        half_w, half_h = extent(drawn[..., channel] > 100)
        assert abs(half_w - 2 * sigmas[0, k, 0]) <= 2.0
        assert abs(half_h - 2 * sigmas[0, k, 1]) <= 2.0
    plain = VISUALIZERS.build(dict(type='PoseLocalVisualizer', name='plain_test', radius=1))
    plain.set_dataset_meta(META)
    only_points = plain.add_datasample('x', img, sample(sigmas), draw_gt=False, draw_bbox=False)
    assert (drawn[..., 0] > 100).sum() > 3 * (only_points[..., 0] > 100).sum()


def test_keypoints_below_the_threshold_get_no_ellipse():
    vis = SigmaPoseLocalVisualizer(name='sigma_thr_test', radius=1)
    vis.set_dataset_meta(META)
    img = np.zeros((160, 120, 3), np.uint8)
    drawn = vis.add_datasample(
        'x',
        img,
        sample(np.array([[[12.0, 6.0], [4.0, 9.0]]]), scores=(0.1, 0.9)),
        draw_gt=False,
        draw_bbox=False,
        kpt_thr=0.3,
    )
    assert (drawn[..., 0] > 100).sum() == 0 and (drawn[..., 1] > 100).sum() > 0
