"""Procedural multi-instance keypoint data set for zero-download one-stage training.

The crowd counterpart of :mod:`mmpose_rle.datasets.synthetic`: each image shows one
textured background and several stick figures (same 11 keypoints, colours, flip pairs
and sigmas), drawn one after the other at random positions and sizes, so later figures
cover parts of earlier ones. About half of the figures after the first are placed next to
an earlier one, so bounding boxes overlap in a fair share of images, as a bottom-up
(YOLOX-Pose-style) model meets in crowds. The output layout is that of the single-figure
set::

    root/
      images/000000.png ...
      train.json, val.json      COCO keypoints, category 'figure', several per image
      metainfo.py               dataset_info for ``metainfo=dict(from_file=...)``
      params.json, DONE

Visibility: a keypoint outside the image gets ``v=0`` (and ``[0, 0]``); a keypoint
inside the image gets ``v=2`` even when a later figure is drawn over it. Occlusion by
thin strokes is partial, the joint's position is still defined by its limbs, and the
labels stay exact; a model therefore learns to predict covered joints as well.

Generation is deterministic in ``seed`` and cached: a directory that already holds a
complete data set with the same parameters (``DONE`` present) is reused.
"""

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from .synthetic import (
    _TORSO_RANGE,
    _angles,
    draw_figure,
    figure_keypoints,
    render_background,
    write_coco_set,
)

__all__ = ['SyntheticCrowds', 'generate_synthetic_crowds']

#: Probability that a figure after the first is placed next to an earlier one.
_NEAR_PROB = 0.5
#: Smallest distance of a figure's torso centre from the image border (fraction of side).
_BORDER = 0.2


@dataclass(frozen=True)
class SyntheticCrowds:
    """Parameters of the procedural crowd data set (all of them enter the cache key).

    Args:
        num_train (int): Training images.
        num_val (int): Validation images.
        image_size (int): Side of the square images in pixels.
        min_figures (int): Fewest figures in an image (at least 1).
        max_figures (int): Most figures in an image; the count is uniform in
            ``[min_figures, max_figures]``.
        scale_range (tuple[float, float]): Size of each figure relative to the
            single-figure set's torso length (itself uniform in 15-24 % of the image
            side), uniform in this range; ``0 < low <= high <= 2``.
        seed (int): Seed of the generator.
        version (int): Version of the generator (part of the cache key).
    """

    num_train: int = 240
    num_val: int = 60
    image_size: int = 192
    min_figures: int = 1
    max_figures: int = 4
    scale_range: Tuple[float, float] = (0.5, 1.0)
    seed: int = 0
    version: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.min_figures <= self.max_figures:
            raise ValueError(
                f'need 1 <= min_figures <= max_figures, got {self.min_figures}, {self.max_figures}'
            )
        low, high = self.scale_range
        if not 0 < low <= high <= 2:
            raise ValueError(f'need 0 < low <= high <= 2 in scale_range, got {self.scale_range}')

    def key(self) -> str:
        """Directory name of the data set: every field, so other parameters never collide."""
        low, high = self.scale_range
        return (
            'crowds-v{version}-n{num_train}-{num_val}-s{image_size}-f{min_figures}-{max_figures}'
            '-r{low:g}-{high:g}-seed{seed}'
        ).format(low=low, high=high, **asdict(self))


def _place(
    rng: np.random.Generator,
    size: int,
    scale: float,
    placed: List[Tuple[np.ndarray, float]],
) -> np.ndarray:
    """Torso centre of a new figure: next to an earlier one or anywhere.

    Args:
        rng (np.random.Generator): Generator.
        size (int): Image side.
        scale (float): Torso length of the new figure.
        placed (list): ``(root, scale)`` of the figures already drawn.

    Returns:
        np.ndarray: ``(2,)`` torso centre, far enough from the border that the neck
        (half a torso from the centre) lies inside the image.
    """
    margin = max(_BORDER * size, 0.5 * scale + 1.0)
    if placed and rng.random() < _NEAR_PROB:
        other, other_scale = placed[rng.integers(len(placed))]
        root = other + rng.uniform(-0.8, 0.8, size=2) * (other_scale + scale)
    else:
        root = rng.uniform(margin, size - margin, size=2)
    return np.clip(root, margin, size - margin)


def _crowd_image(
    rng: np.random.Generator, params: SyntheticCrowds
) -> Tuple[np.ndarray, List[np.ndarray]]:
    """One image and the ``(11, 2)`` keypoints of its figures, in drawing order."""
    size = params.image_size
    img = render_background(rng, size)
    count = int(rng.integers(params.min_figures, params.max_figures + 1))
    placed: List[Tuple[np.ndarray, float]] = []
    figures = []
    for _ in range(count):
        scale = rng.uniform(*_TORSO_RANGE) * size * rng.uniform(*params.scale_range)
        root = _place(rng, size, scale, placed)
        kps = figure_keypoints(scale, root, *_angles(rng))
        draw_figure(img, kps, rng)
        placed.append((root, scale))
        figures.append(kps)
    return img, figures


def generate_synthetic_crowds(
    root: str, params: Optional[SyntheticCrowds] = None, progress: bool = True
) -> Path:
    """Generate (or reuse) the crowd data set under ``root/<params.key()>``.

    Args:
        root (str): Cache directory.
        params (SyntheticCrowds, optional): Parameters; the defaults if ``None``.
        progress (bool): Show a progress bar.

    Returns:
        Path: The data set directory (with ``train.json``, ``val.json``,
        ``metainfo.py``, ``params.json`` and ``images/``). Image ids are the image
        indices (train first, then val); annotation ids are unique across both splits
        and start at 1.
    """
    params = params or SyntheticCrowds()
    return write_coco_set(
        root,
        params,
        lambda rng: _crowd_image(rng, params),
        'generating synthetic crowds',
        progress,
        ann_id=lambda i, n: n,
    )
