"""The procedural 3-D skeletons: kinematics, cameras, corruption, MMPose's loaders."""

import os
import pickle

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

from mmpose_rle.datasets import (
    BONES,
    JOINTS,
    PARENTS,
    SyntheticLifting,
    generate_synthetic_lifting,
    skeleton_poses,
)

TINY = dict(num_train_videos=4, num_val_videos=2, frames=30)


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('lifting')
    return generate_synthetic_lifting(str(root), SyntheticLifting(**TINY, outlier_rate=0.2))


def load(root, split='train'):
    return dict(np.load(root / f'annotation_body3d/fps50/h36m_{split}.npz'))


def bone_lengths(poses: np.ndarray) -> np.ndarray:
    return np.stack(
        [
            np.linalg.norm(poses[..., j, :] - poses[..., p, :], axis=-1)
            for j, p in enumerate(PARENTS)
            if p >= 0
        ],
        -1,
    )


def test_bone_lengths_are_fixed_under_any_angles_and_orientation():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-3, 3, size=(50, len(JOINTS), 3))
    q, _ = np.linalg.qr(rng.normal(size=(50, 3, 3)))
    poses = skeleton_poses(angles, q * np.sign(np.linalg.det(q))[:, None, None])
    expected = np.linalg.norm(np.asarray(BONES)[1:], axis=1)
    np.testing.assert_allclose(bone_lengths(poses), np.broadcast_to(expected, (50, 16)), atol=1e-12)


def test_rest_pose_and_joint_conventions():
    rest = skeleton_poses(np.zeros((len(JOINTS), 3)))
    np.testing.assert_allclose(rest[3], [-0.13, -0.9, 0.0], atol=1e-12)  # right foot
    bent = np.zeros((len(JOINTS), 3))
    bent[1, 0] = 0.5  # right hip flexed: the knee moves forward (+z)
    bent[2, 0] = 0.5  # right knee flexed by as much: the shin hangs straight down again
    pose = skeleton_poses(bent)
    assert pose[2, 2] > 0.2
    np.testing.assert_allclose(pose[3, [0, 2]], pose[2, [0, 2]], atol=1e-12)


def test_files_are_human36m_layout_and_projections_follow_the_cameras(data):
    train = load(data)
    n = TINY['num_train_videos'] * TINY['frames']
    assert train['S'].shape == (n, 17, 4) and train['part'].shape == (n, 17, 3)
    assert str(train['imgname'][0]) == 'S1_Synthetic.00000_000001.jpg'
    with open(data / 'annotation_body3d/cameras.pkl', 'rb') as f:
        cameras = pickle.load(f)
    cam = cameras[('S1', '00000')]
    joints = train['S'][: TINY['frames'], :, :3].astype(np.float64)
    assert (joints[..., 2] > 2).all()  # in front of the camera
    projected = cam['f'][:, 0] * joints[..., :2] / joints[..., 2:] + cam['c'][:, 0]
    np.testing.assert_allclose(train['part_clean'][: TINY['frames']], projected, atol=1e-3)
    assert cam['w'] == cam['h'] == 1000 and cam['R'].shape == (3, 3)
    np.testing.assert_allclose(cam['R'] @ cam['R'].T, np.eye(3), atol=1e-12)


def test_noise_and_gross_outliers(data):
    train = load(data)
    offset = np.linalg.norm(train['part'][..., :2] - train['part_clean'], axis=-1)
    outlier = train['outlier']
    assert 0.15 < outlier.mean() < 0.25
    height = np.ptp(train['part_clean'][..., 1], axis=1)[:, None]
    assert (offset[outlier] > 0.1 * np.broadcast_to(height, offset.shape)[outlier]).all()
    assert np.sqrt(np.mean(offset[~outlier] ** 2) / 2) == pytest.approx(3.0, rel=0.15)
    np.testing.assert_array_equal(train['S'][..., 3], 1)  # the 3-D targets stay clean


def test_motion_is_smooth_in_time(data):
    joints = load(data)['S'][: TINY['frames'], :, :3]
    step = np.linalg.norm(np.diff(joints - joints[:, :1], axis=0), axis=-1)
    assert step.max() < 0.1  # metres per frame at 50 fps


def test_generation_is_deterministic_and_cached(tmp_path, data):
    again = generate_synthetic_lifting(str(data.parent), SyntheticLifting(**TINY, outlier_rate=0.2))
    assert again == data
    stamp = os.path.getmtime(data / 'annotation_body3d/fps50/h36m_train.npz')
    assert os.path.getmtime(again / 'annotation_body3d/fps50/h36m_train.npz') == stamp
    fresh = generate_synthetic_lifting(str(tmp_path), SyntheticLifting(**TINY, outlier_rate=0.2))
    for key in ('S', 'part', 'outlier'):
        np.testing.assert_array_equal(load(fresh)[key], load(data)[key])
    other = generate_synthetic_lifting(str(tmp_path), SyntheticLifting(**TINY, seed=1))
    assert not np.allclose(load(other)['S'], load(data)['S'])


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(outlier_rate=1.0), 'outlier_rate'),
        (dict(noise_px=-1), 'noise_px'),
        (dict(frames=0), 'positive'),
    ],
)
def test_invalid_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SyntheticLifting(**kwargs)


def test_bad_angles_raise():
    with pytest.raises(ValueError, match=r'\(\.\.\., 17, 3\)'):
        skeleton_poses(np.zeros((3, 16, 3)))


@pytest.mark.parametrize('seq_len', [1, 27])
def test_mmposes_human36m_dataset_reads_it(data, seq_len):
    init_default_scope('mmpose')
    dataset = DATASETS.build(
        dict(
            type='Human36mDataset',
            data_root=str(data),
            ann_file='annotation_body3d/fps50/h36m_test.npz',
            seq_len=seq_len,
            causal=False,
            pad_video_seq=seq_len > 1,
            camera_param_file='annotation_body3d/cameras.pkl',
            pipeline=[],
        )
    )
    assert len(dataset) == TINY['num_val_videos'] * TINY['frames']
    info = dataset[0]
    assert info['keypoints'].shape == (seq_len, 17, 2)
    assert info['lifting_target'].shape == (1, 17, 3)
    assert info['camera_param']['w'] == 1000
