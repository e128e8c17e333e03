"""Procedural videos of one moving stick figure, with occlusions, for smoothing benchmarks.

The figure of :mod:`mmpose_rle.datasets.synthetic` walks over a fixed textured background:
its position, torso tilt, head and every joint angle follow smooth random trajectories
(each a sum of two sinusoids of periods 30–150 frames), so the ground truth moves smoothly
and is known in every frame. A few times per video a textured block covers part of the
figure for several frames: the keypoints under it are occluded (their ground truth is still
known). A few isolated frames are corrupted as a camera corrupts them (strong motion blur
along a random direction plus sensor noise). Occlusions and corrupted frames are where a
keypoint model makes its gross errors.
"""

from dataclasses import dataclass
from typing import Dict, Tuple

import cv2
import numpy as np

from .synthetic import draw_figure, figure_keypoints, render_background

__all__ = ['FigureVideo', 'figure_video', 'write_video']

# (centre, half-range) of the joint angles, inside the ranges of the still images
_LIMB_RANGES = ((1.5, 0.9), (0.6, 0.7), (0.45, 0.3), (-0.2, 0.3))


@dataclass(frozen=True)
class FigureVideo:
    """A procedural video and its ground truth.

    Attributes:
        frames (np.ndarray): ``(T, S, S, 3)`` uint8 BGR frames.
        keypoints (np.ndarray): ``(T, 11, 2)`` ground-truth keypoints in pixels.
        occluded (np.ndarray): ``(T, 11)`` whether a block covers the keypoint.
        corrupted (np.ndarray): ``(T,)`` whether the frame is corrupted.
    """

    frames: np.ndarray
    keypoints: np.ndarray
    occluded: np.ndarray
    corrupted: np.ndarray


def _corrupt(rng: np.random.Generator, frame: np.ndarray) -> np.ndarray:
    """Motion blur of 9–17 px along a random direction plus Gaussian noise (σ 20–40)."""
    length = int(rng.integers(9, 18))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2] = 1.0 / length
    angle = float(rng.uniform(0, 180))
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    blurred = cv2.filter2D(frame.astype(np.float32), -1, kernel / max(kernel.sum(), 1e-6))
    noisy = blurred + rng.normal(0, rng.uniform(20, 40), frame.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _smooth(rng: np.random.Generator, steps: int, centre: float, amplitude: float) -> np.ndarray:
    """``centre`` plus two sinusoids of random period (30–150 frames) and phase."""
    t = np.arange(steps)
    periods, phases = rng.uniform(30, 150, 2), rng.uniform(0, 2 * np.pi, 2)
    weights = rng.dirichlet((1.0, 1.0))
    waves = np.sin(2 * np.pi * t[:, None] / periods + phases) @ weights
    return centre + amplitude * waves


def _occlusions(
    rng: np.random.Generator, keypoints: np.ndarray, size: int, count: int
) -> Tuple[np.ndarray, list]:
    """Blocks ``(t0, t1, x0, y0, x1, y1)`` over random keypoints, and the occlusion mask."""
    steps = len(keypoints)
    occluded = np.zeros(keypoints.shape[:2], dtype=bool)
    blocks = []
    for start in np.sort(rng.choice(np.arange(5, steps - 20), size=count, replace=False)):
        stop = start + int(rng.integers(5, 16))
        target = keypoints[start, rng.integers(keypoints.shape[1])]
        half = rng.uniform(0.08, 0.15) * size
        x0, y0 = np.clip(target - half, 0, size - 1).astype(int)
        x1, y1 = np.clip(target + half, 0, size - 1).astype(int)
        blocks.append((start, stop, x0, y0, x1, y1))
        kps = keypoints[start:stop]
        occluded[start:stop] |= (
            (kps[..., 0] >= x0) & (kps[..., 0] <= x1) & (kps[..., 1] >= y0) & (kps[..., 1] <= y1)
        )
    return occluded, blocks


def figure_video(
    seed: int,
    num_frames: int = 150,
    size: int = 160,
    occlusions: int = 4,
    corrupted_rate: float = 0.05,
) -> FigureVideo:
    """Render a video of one moving figure (module docstring).

    Args:
        seed (int): Seed of the background, the motion and the occlusions.
        num_frames (int): Number of frames ``T``.
        size (int): Frame side in pixels (the still images' default 160).
        occlusions (int): Number of occlusion events (5–15 frames each).
        corrupted_rate (float): Probability of a frame being corrupted.

    Returns:
        FigureVideo: Frames, ground-truth keypoints and occlusion mask.
    """
    if num_frames < 30:
        raise ValueError(f'num_frames must be at least 30, got {num_frames}')
    rng = np.random.default_rng(seed)
    background = render_background(rng, size)
    block_texture = render_background(rng, size)
    scale = rng.uniform(0.16, 0.21) * size
    root = np.stack([_smooth(rng, num_frames, 0.5 * size, 0.08 * size) for _ in range(2)], -1)
    tilt = _smooth(rng, num_frames, 0.0, 0.3)
    head = _smooth(rng, num_frames, 0.0, 0.25)
    limbs: Dict[str, list] = {
        side: [_smooth(rng, num_frames, c, a) for c, a in _LIMB_RANGES]
        for side in ('left', 'right')
    }
    keypoints = np.stack(
        [
            figure_keypoints(
                scale,
                root[t],
                tilt[t],
                head[t],
                {side: tuple(v[t] for v in values) for side, values in limbs.items()},
            )
            for t in range(num_frames)
        ]
    )
    style_seed = int(rng.integers(2**31))
    # separate streams: the motion and style do not depend on the occlusions or corruption
    occluded, blocks = _occlusions(np.random.default_rng([seed, 1]), keypoints, size, occlusions)
    noise_rng = np.random.default_rng([seed, 2])
    corrupted = noise_rng.random(num_frames) < corrupted_rate
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t in range(num_frames):
        frame = background.copy()
        draw_figure(frame, keypoints[t], np.random.default_rng(style_seed))
        for t0, t1, x0, y0, x1, y1 in blocks:
            if t0 <= t < t1:
                frame[y0 : y1 + 1, x0 : x1 + 1] = block_texture[y0 : y1 + 1, x0 : x1 + 1]
        frames[t] = _corrupt(noise_rng, frame) if corrupted[t] else frame
    return FigureVideo(frames, keypoints.astype(np.float32), occluded, corrupted)


def write_video(frames: np.ndarray, path: str, fps: float = 25.0) -> str:
    """Write ``(T, H, W, 3)`` BGR frames as an MP4 (``mp4v``) file; returns ``path``."""
    height, width = frames.shape[1:3]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write the video {path}')
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
