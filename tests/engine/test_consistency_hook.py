"""The head is checked against the data set before training starts."""

import pytest

from mmpose_rle.engine import check_head_against_metainfo
from mmpose_rle.models import RLEHead, RLELiftingHead


def test_head_dataset_mismatch_is_caught_before_training():
    head = RLEHead(in_channels=8, num_joints=17)
    with pytest.raises(ValueError, match='num_joints=17.*has 4 keypoints'):
        check_head_against_metainfo(
            head,
            dict(num_keypoints=4, flip_indices=[0, 2, 1, 3], dataset_name='openfield'),
            'training',
        )
    with pytest.raises(ValueError, match='flip_indices has 3 entries for 17'):
        check_head_against_metainfo(
            head, dict(num_keypoints=17, flip_indices=[0, 1, 2]), 'training'
        )
    check_head_against_metainfo(
        head, dict(num_keypoints=17, flip_indices=list(range(17))), 'training'
    )


def test_a_codec_that_removes_the_root_predicts_one_joint_fewer():
    """Human3.6M's single-frame lifting config: 16 predicted joints for 17 in the data."""
    codec = dict(type='ImagePoseLifting', num_keypoints=17, root_index=0, remove_root=True)
    head = RLELiftingHead(in_channels=8, num_joints=16, decoder=codec)
    h36m = dict(num_keypoints=17, flip_indices=list(range(17)), dataset_name='h36m')
    check_head_against_metainfo(head, h36m, 'training')
    wrong = RLELiftingHead(in_channels=8, num_joints=17, decoder=codec)
    with pytest.raises(ValueError, match='removes the root.*num_joints=16'):
        check_head_against_metainfo(wrong, h36m, 'training')
