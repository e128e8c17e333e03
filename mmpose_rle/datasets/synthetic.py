"""Procedural keypoint data set for the zero-download quick start.

Each image shows one articulated stick figure (11 keypoints: head, neck, elbows, wrists,
pelvis, knees, ankles) on a textured background. Left limbs are drawn in warm colours
and right limbs in cool ones, so left and right are distinguishable and horizontal flips
swap them (``flip_pairs``). The output is a COCO keypoint data set plus an MMPose
metainfo file::

    root/
      images/000000.png ...
      train.json, val.json      COCO keypoints, category 'figure'
      metainfo.py               dataset_info for ``metainfo=dict(from_file=...)``

Generation is deterministic in ``seed`` and cached: a directory that already holds a
complete data set with the same parameters is reused.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

__all__ = [
    'KEYPOINTS',
    'FLIP_PAIRS',
    'SKELETON',
    'SIGMAS',
    'SyntheticFigures',
    'draw_figure',
    'figure_keypoints',
    'generate_synthetic_figures',
    'render_background',
    'write_coco_set',
]

KEYPOINTS = (
    'head',
    'neck',
    'left_elbow',
    'right_elbow',
    'left_wrist',
    'right_wrist',
    'pelvis',
    'left_knee',
    'right_knee',
    'left_ankle',
    'right_ankle',
)
FLIP_PAIRS = ((2, 3), (4, 5), (7, 8), (9, 10))
SKELETON = ((0, 1), (1, 2), (2, 4), (1, 3), (3, 5), (1, 6), (6, 7), (7, 9), (6, 8), (8, 10))
#: COCO-style per-keypoint sigmas (OKS), looser for the distal joints.
SIGMAS = (0.05, 0.05, 0.06, 0.06, 0.07, 0.07, 0.06, 0.07, 0.07, 0.08, 0.08)
_SIDE = {
    name: ('left' if name.startswith('left') else 'right' if name.startswith('right') else 'centre')
    for name in KEYPOINTS
}
_COLOURS = {'left': (40, 60, 230), 'right': (230, 140, 30), 'centre': (60, 200, 60)}  # BGR


@dataclass(frozen=True)
class SyntheticFigures:
    """Parameters of the procedural data set (all of them enter the cache key).

    Args:
        num_train (int): Training images.
        num_val (int): Validation images.
        image_size (int): Side of the square images in pixels.
        seed (int): Seed of the generator.
    """

    num_train: int = 320
    num_val: int = 80
    image_size: int = 160
    seed: int = 0
    version: int = 1

    def key(self) -> str:
        return 'figures-v{version}-n{num_train}-{num_val}-s{image_size}-seed{seed}'.format(
            **asdict(self)
        )


def render_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth colour noise plus stripes or checks plus pixel noise, uint8 BGR."""
    low = rng.uniform(60, 200, size=(4, 4, 3)).astype(np.float32)
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    angle, freq = rng.uniform(0, math.pi), rng.uniform(0.05, 0.3)
    wave = np.sin(freq * (xx * math.cos(angle) + yy * math.sin(angle)))
    if rng.random() < 0.5:
        wave = np.sign(wave) * np.sign(np.sin(freq * (yy * math.cos(angle) - xx * math.sin(angle))))
    img += rng.uniform(10, 40) * wave[..., None]
    img += rng.normal(0, 8, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


#: Torso length as a fraction of the image side (uniform), shared with the crowd data set.
_TORSO_RANGE = (0.15, 0.24)


def _angles(
    rng: np.random.Generator,
) -> Tuple[float, float, Dict[str, Tuple[float, float, float, float]]]:
    """Random ``tilt``, ``head`` and ``limbs`` arguments of :func:`figure_keypoints`."""
    tilt = rng.normal(0, 0.35)  # torso angle from vertical
    head = rng.normal(0, 0.3)
    limbs = {}
    for side in ('left', 'right'):  # draw order fixed: it defines the data set
        limbs[side] = tuple(
            rng.uniform(lo, hi) for lo, hi in ((0.4, 2.6), (-0.3, 1.5), (0.1, 0.8), (-0.6, 0.2))
        )
    return tilt, head, limbs


def _pose(rng: np.random.Generator, size: int) -> np.ndarray:
    """Keypoints ``(11, 2)`` of a random figure from random joint angles and lengths."""
    scale = rng.uniform(*_TORSO_RANGE) * size  # torso length
    root = rng.uniform(0.4, 0.6, size=2) * size
    return figure_keypoints(scale, root, *_angles(rng))


def figure_keypoints(
    scale: float,
    root: np.ndarray,
    tilt: float,
    head: float,
    limbs: Dict[str, Tuple[float, float, float, float]],
) -> np.ndarray:
    """Keypoints ``(11, 2)`` of a figure from its torso and joint angles.

    Args:
        scale (float): Torso length in pixels.
        root (np.ndarray): ``(2,)`` torso centre.
        tilt (float): Torso angle from vertical (radians).
        head (float): Head angle relative to the torso.
        limbs (dict): Per side (``'left'``, ``'right'``): upper-arm angle, elbow bend,
            thigh spread and knee bend (radians), mirrored for the right side.

    Returns:
        np.ndarray: ``(11, 2)`` keypoints in :data:`KEYPOINTS` order.
    """
    up = np.array([math.sin(tilt), -math.cos(tilt)])

    def step(origin, angle, length):
        return origin + length * np.array([math.sin(angle), -math.cos(angle)])

    root = np.asarray(root, dtype=np.float64)
    pelvis = root + 0.5 * scale * -up
    neck = root + 0.5 * scale * up
    kps = {'head': step(neck, tilt + head, 0.35 * scale), 'neck': neck, 'pelvis': pelvis}
    for side, sign in (('left', 1.0), ('right', -1.0)):
        # the figure faces the viewer: its left limbs are on the image's right
        arm, elbow, spread, knee = limbs[side]
        upper = tilt + sign * arm
        kps[f'{side}_elbow'] = step(neck, upper, 0.45 * scale)
        kps[f'{side}_wrist'] = step(kps[f'{side}_elbow'], upper + sign * elbow, 0.4 * scale)
        thigh = tilt + math.pi - sign * spread
        kps[f'{side}_knee'] = step(pelvis, thigh, 0.55 * scale)
        kps[f'{side}_ankle'] = step(kps[f'{side}_knee'], thigh + sign * knee, 0.5 * scale)
    return np.stack([kps[name] for name in KEYPOINTS]).astype(np.float32)


def draw_figure(img: np.ndarray, kps: np.ndarray, rng: np.random.Generator) -> None:
    """Draw a figure with keypoints ``kps`` ``(11, 2)`` into ``img`` (line width from ``rng``)."""
    size = img.shape[0]
    width = max(2, int(round(rng.uniform(0.02, 0.035) * size)))
    for a, b in SKELETON:
        side = _SIDE[KEYPOINTS[b]]
        pa, pb = (tuple(int(round(v)) for v in kps[i] * 16) for i in (a, b))
        cv2.line(img, pa, pb, _COLOURS[side], width, cv2.LINE_AA, shift=4)
    head = tuple(int(round(v)) for v in kps[0] * 16)
    cv2.circle(img, head, int(width * 1.8 * 16), (40, 220, 230), -1, cv2.LINE_AA, shift=4)
    for x, y in kps:
        cv2.circle(
            img,
            (int(round(x * 16)), int(round(y * 16))),
            int(width * 0.8 * 16),
            (250, 250, 250),
            -1,
            cv2.LINE_AA,
            shift=4,
        )


def _annotation(kps: np.ndarray, size: int, ann_id: int, img_id: int) -> dict:
    inside = ((kps >= 0) & (kps <= size - 1)).all(1)
    vis = np.where(inside, 2, 0)
    pts = kps[inside]
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    pad_w, pad_h = max(x1 - x0, 16) * 0.15, max(y1 - y0, 16) * 0.15
    x0, y0 = max(0.0, x0 - pad_w), max(0.0, y0 - pad_h)
    x1, y1 = min(size - 1.0, x1 + pad_w), min(size - 1.0, y1 + pad_h)
    flat = np.concatenate([np.where(inside[:, None], kps, 0), vis[:, None]], 1)
    return dict(
        id=ann_id,
        image_id=img_id,
        category_id=1,
        iscrowd=0,
        keypoints=[round(float(v), 2) for v in flat.reshape(-1)],
        num_keypoints=int(inside.sum()),
        bbox=[round(float(v), 2) for v in (x0, y0, x1 - x0, y1 - y0)],
        area=round(float((x1 - x0) * (y1 - y0)), 2),
    )


def _metainfo() -> str:
    kinfo = {}
    for i, name in enumerate(KEYPOINTS):
        swap = ''
        for a, b in FLIP_PAIRS:
            swap = KEYPOINTS[b] if i == a else KEYPOINTS[a] if i == b else swap
        kinfo[i] = dict(
            name=name,
            id=i,
            color=list(_COLOURS[_SIDE[name]][::-1]),
            type='upper' if i < 6 else 'lower',
            swap=swap,
        )
    sinfo = {
        i: dict(
            link=(KEYPOINTS[a], KEYPOINTS[b]), id=i, color=list(_COLOURS[_SIDE[KEYPOINTS[b]]][::-1])
        )
        for i, (a, b) in enumerate(SKELETON)
    }
    info = dict(
        dataset_name='synthetic_figures',
        paper_info=dict(
            author='mmpose_rle',
            title='Procedural stick figures',
            container='',
            year='2026',
            homepage='',
        ),
        keypoint_info=kinfo,
        skeleton_info=sinfo,
        joint_weights=[1.0] * len(KEYPOINTS),
        sigmas=list(SIGMAS),
    )
    return '# Generated by mmpose_rle.datasets.synthetic\ndataset_info = ' + repr(info) + '\n'


def _coco(images: List[dict], anns: List[dict]) -> dict:
    return dict(
        images=images,
        annotations=anns,
        categories=[
            dict(
                id=1,
                name='figure',
                supercategory='figure',
                keypoints=list(KEYPOINTS),
                skeleton=[[a + 1, b + 1] for a, b in SKELETON],
            )
        ],
    )


def generate_synthetic_figures(
    root: str, params: Optional[SyntheticFigures] = None, progress: bool = True
) -> Path:
    """Generate (or reuse) the data set under ``root/<params.key()>``.

    Args:
        root (str): Cache directory.
        params (SyntheticFigures, optional): Parameters; the defaults if ``None``.
        progress (bool): Show a progress bar.

    Returns:
        Path: The data set directory (with ``train.json``, ``val.json``,
        ``metainfo.py`` and ``images/``).
    """
    params = params or SyntheticFigures()

    def draw(rng: np.random.Generator) -> Tuple[np.ndarray, List[np.ndarray]]:
        img = render_background(rng, params.image_size)
        kps = _pose(rng, params.image_size)
        draw_figure(img, kps, rng)
        return img, [kps]

    return write_coco_set(
        root, params, draw, 'generating synthetic figures', progress, ann_id=lambda i, n: i
    )


def write_coco_set(
    root: str,
    params,
    draw: Callable[[np.random.Generator], Tuple[np.ndarray, List[np.ndarray]]],
    desc: str,
    progress: bool = True,
    ann_id: Callable[[int, int], int] = lambda i, n: n,
) -> Path:
    """Draw (or reuse) a procedural COCO keypoint set under ``root/<params.key()>``.

    Image ``i`` (``params.num_train`` training images, then ``params.num_val`` validation
    ones, all ``params.image_size`` square) is ``draw(rng)``: a BGR image and the ``(11, 2)``
    keypoints of its figures, annotated by :func:`_annotation` with id
    ``ann_id(i, n)`` (``n`` counts annotations from 1). Writes ``images/``, ``train.json``,
    ``val.json``, ``metainfo.py``, ``params.json`` and, last, ``DONE``; a folder with
    ``DONE`` is returned as it is.

    Returns:
        Path: The data set directory.
    """
    out = Path(root).expanduser() / params.key()
    done = out / 'DONE'
    if done.exists():
        return out
    (out / 'images').mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params.seed)
    size = params.image_size
    splits: Dict[str, Tuple[list, list]] = {'train': ([], []), 'val': ([], [])}
    indices = range(params.num_train + params.num_val)
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc=desc, unit='img')
    count = 0
    for i in indices:
        img, figures = draw(rng)
        name = f'{i:06d}.png'
        cv2.imwrite(str(out / 'images' / name), img)
        images, anns = splits['train' if i < params.num_train else 'val']
        images.append(dict(id=i, file_name=name, width=size, height=size))
        for kps in figures:
            count += 1
            anns.append(_annotation(kps, size, ann_id(i, count), i))
    for split, (images, anns) in splits.items():
        (out / f'{split}.json').write_text(json.dumps(_coco(images, anns)))
    (out / 'metainfo.py').write_text(_metainfo())
    (out / 'params.json').write_text(json.dumps(asdict(params)))
    done.write_text('ok\n')
    return out
