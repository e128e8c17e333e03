"""WholeFrameBox: the whole frame as every instance's crop, the ground-truth box kept."""

import numpy as np
import pytest
from mmpose.registry import TRANSFORMS as MMPOSE_TRANSFORMS

from mmpose_rle.datasets import WholeFrameBox
from mmpose_rle.registry import TRANSFORMS

H, W = 480, 640


def _results(count=2):
    keypoints = np.array([[[320.0, 240.0], [0.0, 240.0], [640.0, 0.0]]] * count, np.float32)
    return dict(
        img=np.zeros((H, W, 3), np.uint8),
        img_shape=(H, W),
        bbox=np.array([[100, 120, 180, 200], [300, 50, 420, 130]][:count], np.float32),
        keypoints=keypoints,
        keypoints_visible=np.ones(keypoints.shape[:2], np.float32),
    )


def test_registered_in_our_scope_and_built_through_mmpose():
    assert MMPOSE_TRANSFORMS.children['mmpose_rle'] is TRANSFORMS
    assert type(MMPOSE_TRANSFORMS.build(dict(type='mmpose_rle.WholeFrameBox'))) is WholeFrameBox
    assert 'WholeFrameBox' not in MMPOSE_TRANSFORMS.module_dict


@pytest.mark.parametrize('padding', [1.0, 1.25])
def test_every_instance_gets_the_frame_and_keeps_its_box(padding):
    results = _results()
    boxes = results['bbox'].copy()
    out = WholeFrameBox(padding=padding)(results)
    np.testing.assert_allclose(out['bbox_center'], [[W / 2, H / 2]] * 2)
    np.testing.assert_allclose(out['bbox_scale'], [[padding * W, padding * H]] * 2)
    np.testing.assert_array_equal(out['bbox'], boxes)


def test_topdown_affine_maps_the_frame_into_the_input():
    """After MMPose's TopdownAffine the frame fills the square input with its long side: with
    padding 1, x ↦ (x − W/2)·128/W + 64 and y ↦ (y − H/2)·128/W + 64."""
    affine = MMPOSE_TRANSFORMS.build(dict(type='TopdownAffine', input_size=(128, 128)))
    out = affine(WholeFrameBox(padding=1.0)(_results(count=1)))
    x, y = out['keypoints'][0, :, 0], out['keypoints'][0, :, 1]
    expected = np.stack([(x - W / 2) * 128 / W + 64, (y - H / 2) * 128 / W + 64], axis=-1)
    np.testing.assert_allclose(out['transformed_keypoints'][0], expected, atol=1e-3)
    assert out['img'].shape[:2] == (128, 128)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='padding'):
        WholeFrameBox(padding=0.0)
    results = _results()
    del results['img_shape']
    with pytest.raises(KeyError, match='img_shape'):
        WholeFrameBox()(results)
