r"""Procedural 3-D skeletons for the zero-download lifting quick start.

Each *video* is one moving skeleton seen by one static camera. The skeleton has
Human3.6M's 17 joints (same order and left/right pairs, so MMPose's ``Human36mDataset``
metainfo and flip indices apply) and **fixed bone lengths** (:data:`BONES`, metres).
Its pose is forward kinematics on the kinematic tree: every joint ``j`` with parent ``p``
and rest offset ``o_j`` sits at::

    x_j = x_p + G_p o_j,      G_j = G_p R_j,      G_root = global orientation

where ``R_j = R_y(twist) R_z(abduction) R_x(flexion)`` holds random joint angles inside
per-joint limits (:data:`ANGLE_LIMITS`). Angles move smoothly in time (a random base plus
a sinusoid per angle, clipped to the limits; the body turns slowly about the vertical), so
the same data serves single-frame and temporal lifting. A random camera (distance, height,
azimuth, focal length) looks at the body; the camera-frame joints ``X`` (metres, ``y``
down, as Human3.6M's ``S``) are projected by the pinhole model ``u = f X/Z + c`` to
pixels of a 1000 × 1000 image, then corrupted:

* Gaussian noise of ``noise_px`` pixels per coordinate (a 2-D detector's jitter);
* with probability ``outlier_rate`` per joint and frame a **gross outlier**: the joint is
  moved by ``U(0.15, 0.5)`` of the skeleton's height in the image, in a random direction
  (a detector that jumped to another body part or to the background).

The 3-D targets are never corrupted. The files are those MMPose's Human3.6M lifting
configs read (``keypoint_2d_src='gt'`` reads the corrupted 2-D ``part``)::

    root/annotation_body3d/fps50/h36m_train.npz, h36m_test.npz
        imgname  (N,)        'S1_Synthetic.00012_000005.jpg': subject, action, camera, frame
        S        (N, 17, 4)  camera-frame joints in metres, visibility 1
        part     (N, 17, 3)  2-D input in pixels (noise and outliers), visibility 1
        center, scale        the 2-D box (unused by the lifting pipelines)
        part_clean (N, 17, 2), outlier (N, 17)   the noise-free projection, the outlier mask
    root/annotation_body3d/cameras.pkl   {(subject, camera): dict(R, T, f, c, w, h)}

Generation is deterministic in the parameters and cached (a finished directory with the
same parameters is reused).

Example:
    >>> poses = skeleton_poses(np.zeros((2, len(JOINTS), 3)))
    >>> poses.shape, round(float(np.linalg.norm(poses[0, 3] - poses[0, 2])), 2)
    ((2, 17, 3), 0.45)
"""

import json
import math
import pickle
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np

__all__ = [
    'JOINTS',
    'PARENTS',
    'BONES',
    'ANGLE_LIMITS',
    'IMAGE_SIZE',
    'SyntheticLifting',
    'skeleton_poses',
    'generate_synthetic_lifting',
]

#: Human3.6M's 17 joints, in MMPose's order.
JOINTS = (
    'root',
    'right_hip',
    'right_knee',
    'right_foot',
    'left_hip',
    'left_knee',
    'left_foot',
    'spine',
    'thorax',
    'neck_base',
    'head',
    'left_shoulder',
    'left_elbow',
    'left_wrist',
    'right_shoulder',
    'right_elbow',
    'right_wrist',
)
#: Parent of every joint in the kinematic tree (-1: the root).
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
#: Rest offset of every joint from its parent (metres; body frame: x the body's left,
#: y up, z forward). The lengths are fixed; the rest pose stands with the arms down.
BONES = (
    (0.0, 0.0, 0.0),
    (-0.13, 0.0, 0.0),
    (0.0, -0.45, 0.0),
    (0.0, -0.45, 0.0),
    (0.13, 0.0, 0.0),
    (0.0, -0.45, 0.0),
    (0.0, -0.45, 0.0),
    (0.0, 0.23, 0.0),
    (0.0, 0.25, 0.0),
    (0.0, 0.11, 0.0),
    (0.0, 0.12, 0.0),
    (0.15, 0.0, 0.0),
    (0.0, -0.28, 0.0),
    (0.0, -0.25, 0.0),
    (-0.15, 0.0, 0.0),
    (0.0, -0.28, 0.0),
    (0.0, -0.25, 0.0),
)
#: Limits (radians) of (flexion, abduction, twist) of the rotation at each joint, which
#: moves the joint's child bones: flexion is a rotation about the body's left axis, so it
#: swings a hanging limb forward (and a knee's shin backward) but leans an upward bone
#: (spine, thorax, neck) backward; abduction > 0 moves a limb away from the body's
#: mid-plane; twist turns it about the parent's vertical axis.
ANGLE_LIMITS: Dict[int, Tuple[Tuple[float, float], ...]] = {
    1: ((-0.5, 1.8), (-0.2, 0.6), (-0.3, 0.3)),  # right hip
    2: ((0.0, 2.2), (0.0, 0.0), (0.0, 0.0)),  # right knee
    4: ((-0.5, 1.8), (-0.2, 0.6), (-0.3, 0.3)),  # left hip
    5: ((0.0, 2.2), (0.0, 0.0), (0.0, 0.0)),  # left knee
    7: ((-0.1, 0.4), (-0.15, 0.15), (-0.3, 0.3)),  # spine
    8: ((-0.1, 0.3), (-0.1, 0.1), (-0.2, 0.2)),  # thorax
    9: ((-0.3, 0.5), (-0.3, 0.3), (-0.6, 0.6)),  # neck
    11: ((-0.8, 2.8), (0.0, 2.2), (-0.8, 0.8)),  # left shoulder
    12: ((0.0, 2.5), (0.0, 0.0), (0.0, 0.0)),  # left elbow
    14: ((-0.8, 2.8), (0.0, 2.2), (-0.8, 0.8)),  # right shoulder
    15: ((0.0, 2.5), (0.0, 0.0), (0.0, 0.0)),  # right elbow
}
#: Width and height of the virtual images (pixels).
IMAGE_SIZE = 1000
_FPS = 50.0
_LEFT = {4, 5, 11, 12}
_KNEES = {2, 5}


@dataclass(frozen=True)
class SyntheticLifting:
    """Parameters of the procedural lifting data (all of them enter the cache key).

    Args:
        num_train_videos (int): Videos of the training split (subject ``S1``).
        num_val_videos (int): Videos of the test split (subject ``S9``).
        frames (int): Frames per video (50 fps).
        outlier_rate (float): Probability of a gross 2-D outlier per joint and frame.
        noise_px (float): Standard deviation of the 2-D noise, pixels.
        seed (int): Seed of the generator.
    """

    num_train_videos: int = 160
    num_val_videos: int = 40
    frames: int = 32
    outlier_rate: float = 0.0
    noise_px: float = 3.0
    seed: int = 0
    version: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.outlier_rate < 1:
            raise ValueError(f'outlier_rate must lie in [0, 1), got {self.outlier_rate!r}')
        if self.noise_px < 0:
            raise ValueError(f'noise_px must be non-negative, got {self.noise_px!r}')
        if min(self.num_train_videos, self.num_val_videos, self.frames) < 1:
            raise ValueError('num_train_videos, num_val_videos and frames must be positive')

    def key(self) -> str:
        return (
            'lifting-v{version}-n{num_train_videos}-{num_val_videos}-f{frames}'
            '-out{outlier_rate:g}-noise{noise_px:g}-seed{seed}'
        ).format(**asdict(self))


def _rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations by ``angle`` about coordinate ``axis`` (right-handed)."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.zeros(angle.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    out[..., axis, axis] = 1
    out[..., i, i], out[..., j, j] = c, c
    out[..., i, j], out[..., j, i] = -s, s
    return out


def skeleton_poses(angles: np.ndarray, orientation: Optional[np.ndarray] = None) -> np.ndarray:
    """Forward kinematics (module docstring) of joint angles.

    Args:
        angles (np.ndarray): ``(..., 17, 3)`` (flexion, abduction, twist) per joint, radians;
            only the joints of :data:`ANGLE_LIMITS` move.
        orientation (np.ndarray, optional): ``(..., 3, 3)`` the root's rotation (body to
            world); the identity when None.

    Returns:
        np.ndarray: ``(..., 17, 3)`` joint positions in metres, root at the origin.
    """
    angles = np.asarray(angles, dtype=np.float64)
    if angles.shape[-2:] != (len(JOINTS), 3):
        raise ValueError(f'angles must have shape (..., 17, 3), got {angles.shape}')
    lead = angles.shape[:-2]
    index = range(len(JOINTS))
    flex = angles[..., 0] * np.array([-1 if j in _KNEES else 1 for j in index])
    abduction = angles[..., 1] * np.array([1 if j in _LEFT else -1 for j in index])
    # a limb hanging down (−y) swings forward (+z) under a negative rotation about x
    local = _rotation(1, angles[..., 2]) @ _rotation(2, abduction) @ _rotation(0, -flex)
    first = np.broadcast_to(np.eye(3), lead + (3, 3)) if orientation is None else orientation
    glob = [first @ local[..., 0, :, :]]
    pos = [np.zeros(lead + (3,))]
    bones = np.asarray(BONES)
    for j in range(1, len(JOINTS)):
        p = PARENTS[j]
        pos.append(pos[p] + (glob[p] @ bones[j][:, None])[..., 0])
        glob.append(glob[p] @ local[..., j, :, :])
    return np.stack(pos, axis=-2)


def _angle_tracks(rng: np.random.Generator, frames: int) -> np.ndarray:
    """``(frames, 17, 3)`` smooth angles: base + amplitude · sin(2π f t + φ), clipped."""
    t = np.arange(frames)[:, None, None] / _FPS
    low, high = np.zeros((len(JOINTS), 3)), np.zeros((len(JOINTS), 3))
    for j, limits in ANGLE_LIMITS.items():
        low[j], high[j] = np.asarray(limits).T
    span = high - low
    base = rng.uniform(low, high)
    amp = rng.uniform(0, 0.4, size=span.shape) * span
    freq = rng.uniform(0.2, 1.2, size=span.shape)
    phase = rng.uniform(0, 2 * math.pi, size=span.shape)
    return np.clip(base + amp * np.sin(2 * math.pi * freq * t + phase), low, high)


def _camera(rng: np.random.Generator) -> dict:
    """A random camera looking at the body (world: y up; camera: x right, y down)."""
    azimuth = rng.uniform(-math.pi, math.pi)
    distance, height = rng.uniform(4.0, 6.0), rng.uniform(0.6, 2.0)
    centre = np.array([distance * math.sin(azimuth), height, distance * math.cos(azimuth)])
    forward = np.array([0.0, 0.9, 0.0]) - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])  # world → camera
    focal = rng.uniform(1100, 1200)
    return dict(
        R=rot,
        T=centre[:, None],
        f=np.full((2, 1), focal),
        c=np.full((2, 1), IMAGE_SIZE / 2) + rng.normal(0, 5, size=(2, 1)),
        w=IMAGE_SIZE,
        h=IMAGE_SIZE,
    )


def _video(rng: np.random.Generator, params: SyntheticLifting) -> dict:
    """One video: camera-frame joints, clean and corrupted 2-D, outlier mask, camera."""
    frames = params.frames
    angles = _angle_tracks(rng, frames)
    yaw = rng.uniform(-math.pi, math.pi) + rng.uniform(-1.0, 1.0) * np.arange(frames) / _FPS
    lean = rng.normal(0, 0.12) + np.zeros(frames)
    orientation = _rotation(1, yaw) @ _rotation(0, lean)
    body = skeleton_poses(angles, orientation)  # (T, 17, 3), body-centred, world axes
    root = np.array([0.0, 0.95, 0.0]) + rng.normal(0, 0.3, size=3) * [1, 0, 1]
    world = body + root
    cam = _camera(rng)
    joints = (world - cam['T'][:, 0]) @ cam['R'].T  # (T, 17, 3) camera frame
    clean = cam['f'][:, 0] * joints[..., :2] / joints[..., 2:] + cam['c'][:, 0]
    noisy = clean + rng.normal(0, params.noise_px, size=clean.shape)
    outlier = rng.random(clean.shape[:2]) < params.outlier_rate
    height = np.ptp(clean[..., 1], axis=1)[:, None, None]  # the skeleton's height per frame
    direction = rng.uniform(0, 2 * math.pi, size=clean.shape[:2])
    jump = rng.uniform(0.15, 0.5, size=clean.shape[:2])[..., None] * height
    offset = jump * np.stack([np.cos(direction), np.sin(direction)], -1)
    noisy = np.where(outlier[..., None], noisy + offset, noisy)
    return dict(joints=joints, clean=clean, noisy=noisy, outlier=outlier, camera=cam)


def _split(
    rng: np.random.Generator, params: SyntheticLifting, subject: str, count: int, first: int
):
    """Arrays of one split in Human3.6M's npz layout, and its cameras."""
    names, s3d, part, clean, outlier, cameras = [], [], [], [], [], {}
    for v in range(first, first + count):
        video = _video(rng, params)
        camera = f'{v:05d}'
        cameras[(subject, camera)] = video['camera']
        names += [f'{subject}_Synthetic.{camera}_{t + 1:06d}.jpg' for t in range(params.frames)]
        ones = np.ones(video['joints'].shape[:2] + (1,))
        s3d.append(np.concatenate([video['joints'], ones], -1))
        part.append(np.concatenate([video['noisy'], ones], -1))
        clean.append(video['clean'])
        outlier.append(video['outlier'])
    part_arr = np.concatenate(part).astype(np.float32)
    lo, hi = part_arr[..., :2].min(1), part_arr[..., :2].max(1)
    arrays = dict(
        imgname=np.array(names),
        S=np.concatenate(s3d).astype(np.float32),
        part=part_arr,
        center=((lo + hi) / 2).astype(np.float32),
        scale=(1.2 * (hi - lo).max(1) / 200).astype(np.float32),
        part_clean=np.concatenate(clean).astype(np.float32),
        outlier=np.concatenate(outlier),
    )
    return arrays, cameras


def generate_synthetic_lifting(root: str, params: Optional[SyntheticLifting] = None) -> Path:
    """Generate (or reuse) the data under ``root/<params.key()>`` (module docstring).

    Args:
        root (str): Cache directory.
        params (SyntheticLifting, optional): Parameters; the defaults if None.

    Returns:
        Path: The data root of MMPose's Human3.6M configs (``data_root``).
    """
    params = params or SyntheticLifting()
    out = Path(root).expanduser() / params.key()
    if (out / 'DONE').exists():
        return out
    ann = out / 'annotation_body3d'
    (ann / 'fps50').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params.seed)
    train, cams = _split(rng, params, 'S1', params.num_train_videos, 0)
    test, val_cams = _split(rng, params, 'S9', params.num_val_videos, params.num_train_videos)
    np.savez(ann / 'fps50' / 'h36m_train.npz', **train)
    np.savez(ann / 'fps50' / 'h36m_test.npz', **test)
    with open(ann / 'cameras.pkl', 'wb') as f:
        pickle.dump({**cams, **val_cams}, f)
    (out / 'params.json').write_text(json.dumps(asdict(params)))
    (out / 'DONE').write_text('ok\n')
    return out
