"""Benchmark of temporal filters on procedural videos with known ground truth.

For each seed a video of :func:`~mmpose_rle.datasets.figure_video` (occlusions and
corrupted frames included) is written as an MP4 and run through
:class:`~mmpose_rle.apis.SigmaPoseInferencer` with a model checkpoint; its keypoints are
then filtered and compared with the ground truth (EPE in pixels, over all frames and
keypoints, and over the occluded keypoints and corrupted frames):

* ``raw`` — the per-frame predictions;
* ``median (w)`` — a running median of window ``w`` (the best of :data:`MEDIAN_WINDOWS`);
* ``cut-off (p)`` — DeepLabCut's habit: drop keypoints whose score is below ``p`` and
  interpolate linearly (the best of :data:`CUTOFFS`);
* ``kalman, constant σ`` — the RTS smoother with every frame's σ replaced by the keypoint's
  median σ (what the smoother does without per-frame uncertainty);
* ``kalman, σ`` — the RTS smoother with each frame's σ² as measurement variance.

Choosing the median window and cut-off on the test videos favours those baselines.
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np
from scipy.ndimage import median_filter

from mmpose_rle.apis import SigmaPoseInferencer, smooth_keypoints
from mmpose_rle.datasets import FigureVideo, figure_video, write_video

__all__ = [
    'MEDIAN_WINDOWS',
    'CUTOFFS',
    'cutoff_interpolate',
    'filter_errors',
    'run_video',
    'smoothing_markdown',
]

MEDIAN_WINDOWS = (3, 5, 7, 9, 11, 15)
CUTOFFS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def cutoff_interpolate(keypoints: np.ndarray, scores: np.ndarray, cutoff: float) -> np.ndarray:
    """Drop keypoints scored below ``cutoff`` and fill them by linear interpolation in time.

    Args:
        keypoints (np.ndarray): ``(T, K, 2)`` coordinates.
        scores (np.ndarray): ``(T, K)`` scores.
        cutoff (float): Minimum score kept.

    Returns:
        np.ndarray: ``(T, K, 2)``; a keypoint never kept stays as predicted.
    """
    out = np.array(keypoints, dtype=np.float64)
    frames = np.arange(len(out))
    for k in range(out.shape[1]):
        keep = scores[:, k] >= cutoff
        if keep.any() and not keep.all():
            for d in range(2):
                out[~keep, k, d] = np.interp(frames[~keep], frames[keep], out[keep, k, d])
    return out


def _epe(pred: np.ndarray, video: FigureVideo) -> Dict[str, float]:
    err = np.linalg.norm(pred - video.keypoints, axis=-1)
    return dict(
        all=float(err.mean()),
        occluded=float(err[video.occluded].mean()) if video.occluded.any() else float('nan'),
        corrupted=float(err[video.corrupted].mean()) if video.corrupted.any() else float('nan'),
    )


def filter_errors(
    video: FigureVideo, keypoints: np.ndarray, sigmas: np.ndarray, scores: np.ndarray
) -> Dict[str, Dict[str, float]]:
    """EPE of every filter (module docstring) on one video's predictions.

    Args:
        video (FigureVideo): The ground truth.
        keypoints (np.ndarray): ``(T, K, 2)`` predicted coordinates, image pixels.
        sigmas (np.ndarray): ``(T, K, 2)`` predicted σ, image pixels.
        scores (np.ndarray): ``(T, K)`` keypoint scores.

    Returns:
        dict: ``{filter: {'all', 'occluded', 'corrupted', ['window' | 'cutoff']}}``; the
        median and cut-off entries hold every setting, ``median`` and ``cut-off`` the best.
    """
    out = {'raw': _epe(keypoints, video)}
    for w in MEDIAN_WINDOWS:
        filtered = median_filter(keypoints, size=(w, 1, 1), mode='nearest')
        out[f'median {w}'] = dict(_epe(filtered, video), window=w)
    for p in CUTOFFS:
        out[f'cut-off {p}'] = dict(_epe(cutoff_interpolate(keypoints, scores, p), video), cutoff=p)
    for name in ('median', 'cut-off'):
        out[name] = min((v for k, v in out.items() if k.startswith(name + ' ')), key=_all)
    constant = np.broadcast_to(np.median(sigmas, axis=0), sigmas.shape)
    out['kalman, constant σ'] = _epe(smooth_keypoints(keypoints, constant).keypoints, video)
    out['kalman, σ'] = _epe(smooth_keypoints(keypoints, sigmas).keypoints, video)
    return out


def _all(entry: Dict[str, float]) -> float:
    return entry['all']


def run_video(
    inferencer: SigmaPoseInferencer, seed: int, path: str, num_frames: int = 150
) -> Tuple[FigureVideo, np.ndarray, np.ndarray, np.ndarray]:
    """Render, write and predict one video; returns it with ``(T, K, 2)`` keypoints and σ
    and ``(T, K)`` scores. Boxes: the ground-truth keypoints' extent padded by 15 %."""
    video = figure_video(seed, num_frames=num_frames)
    write_video(video.frames, path)
    low, high = video.keypoints.min(1), video.keypoints.max(1)
    pad = 0.15 * (high - low)
    boxes = [np.concatenate([lo - p, hi + p])[None] for lo, hi, p in zip(low, high, pad)]
    for _ in inferencer(path, bboxes=boxes):
        pass
    table = inferencer.table
    shape = (num_frames, video.keypoints.shape[1])
    return (
        video,
        table[['x', 'y']].to_numpy(np.float64).reshape(shape + (2,)),
        table[['sigma_x', 'sigma_y']].to_numpy(np.float64).reshape(shape + (2,)),
        table['score'].to_numpy(np.float64).reshape(shape),
    )


ROWS = ('raw', 'median', 'cut-off', 'kalman, constant σ', 'kalman, σ')


def smoothing_markdown(runs: Sequence[Dict[str, Dict[str, float]]]) -> str:
    """A table of EPE (mean ± std over videos) per filter, and its change against raw."""
    lines = [
        '| filter | EPE (px) | vs raw | EPE, occluded | EPE, corrupted frames | setting |',
        '|---|---|---|---|---|---|',
    ]
    raw = np.array([r['raw']['all'] for r in runs])
    for name in ROWS:
        cells: List[str] = [name]
        values = np.array([r[name]['all'] for r in runs])
        cells.append(f'{values.mean():.2f} ± {values.std():.2f}')
        change = values / raw - 1
        cells.append(f'{change.mean():+.1%} ± {change.std():.1%}')
        for part in ('occluded', 'corrupted'):
            part_values = np.array([r[name][part] for r in runs])
            cells.append(f'{np.nanmean(part_values):.2f}')
        settings = [r[name].get('window', r[name].get('cutoff')) for r in runs]
        cells.append(', '.join(str(s) for s in settings) if settings[0] is not None else '')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'
