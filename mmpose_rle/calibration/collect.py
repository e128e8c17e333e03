r"""Run a pose model over a data loader, in a chosen inference mode, and keep what a σ
calibration needs: the errors and σ of every instance.

Three kinds of model are read:

* **top-down 2-D** — errors and ``keypoint_sigmas`` in normalised units of the crop
  (image pixels divided by ``input_scale``, input pixels divided by ``input_size``), the
  units of the head's σ map;
* **bottom-up 2-D** (a ``BottomupPoseEstimator``, e.g. with ``YOLOXPoseRLEHead``) — one row per
  labelled ground-truth instance paired with a prediction by box IoU
  (:func:`~mmpose_rle.evaluation.instance_pairs`; unpaired ground truth is *missing*, not an
  error), in the units of the head's σ map, the instance's size ``s`` (input pixels)::

      e = (μ̂ − x) · (input_size / input_scale) / s,     σ = keypoint_sigmas / s

  with ``μ̂``, ``x`` in image pixels and ``s`` the head's ``instance_sizes`` (for a head that
  predicts none, ``√(w h)`` of the predicted box mapped back to the input and clamped to it,
  :func:`instance_sizes`); uncalibrated,
  ``σ`` is the head's RMS ``RMS(u)`` that its σ map takes;
* **3-D lifting** (``gt_instances.lifting_target``) — errors of the absolute positions and
  ``keypoint_sigmas`` in millimetres (positions times the head's ``unit_to_mm``,
  :data:`UNIT_TO_MM` for a head without one). :func:`to_head_units` turns them into the
  units of the head's σ map (``RLELiftingHead.sigma_scale_mm``).

The inference modes are those of the head's σ maps
(:class:`~mmpose_rle.models.utils.SigmaCalibration`): ``'single'`` (one view) and
``'flip'`` (MMPose's flip test, ``test_cfg['flip_test']``).
"""

import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import torch
from mmpose.models.pose_estimators import BottomupPoseEstimator
from torch import nn

from mmpose_rle.evaluation.instance_matching import instance_pairs

__all__ = [
    'UNIT_TO_MM',
    'collect_predictions',
    'flip_test_as',
    'inference_modes',
    'instance_sizes',
    'to_head_units',
]

#: Millimetres per unit of MMPose's Human3.6M-format positions (metres).
UNIT_TO_MM = 1000.0


def inference_modes(model: nn.Module, dataloader) -> Tuple[str, ...]:
    """The modes ``model`` can predict ``dataloader``'s data in: those of its head
    (``head.inference_modes``; ``('single',)`` when it has none), ``'flip'`` only when the
    data set's metainfo has ``flip_indices``."""
    modes = tuple(getattr(model.head, 'inference_modes', ('single',)))
    metainfo = getattr(getattr(dataloader, 'dataset', None), 'metainfo', None) or {}
    flip_indices = metainfo.get('flip_indices', None)
    if flip_indices is None or len(flip_indices) == 0:
        modes = tuple(m for m in modes if m != 'flip')
    return modes


@contextmanager
def flip_test_as(model: nn.Module, flip_test: Optional[bool]) -> Iterator[nn.Module]:
    """Run ``model`` with ``test_cfg['flip_test']`` set to ``flip_test`` (unchanged when
    None) inside the block, and restore it after."""
    if flip_test is None:
        yield model
        return
    cfg = model.test_cfg
    had, before = 'flip_test' in cfg, cfg.get('flip_test', None)
    cfg['flip_test'] = bool(flip_test)
    try:
        yield model
    finally:
        if had:
            cfg['flip_test'] = before
        else:
            cfg.pop('flip_test')


def _append_topdown(out: Dict[str, list], sample) -> None:
    """Add one predicted top-down sample (normalised units, module docstring)."""
    pred, gt = sample.pred_instances, sample.gt_instances
    scale = np.asarray(sample.metainfo['input_scale'], np.float64).reshape(-1, 1, 2)
    errors = (np.asarray(pred.keypoints, np.float64) - np.asarray(gt.keypoints)) / scale
    out['errors'].append(errors)
    out['scores'].append(np.asarray(pred.keypoint_scores, np.float64))
    out['visible'].append(np.asarray(gt.keypoints_visible).reshape(errors.shape[:2]) > 0)
    out['groups'] += [sample.metainfo.get('img_id', len(out['groups']))] * len(errors)
    out['scale'].append(scale[:, 0])
    if 'keypoint_sigmas' in pred:
        size = np.asarray(sample.metainfo['input_size'], np.float64)
        out['sigmas'].append(np.asarray(pred.keypoint_sigmas, np.float64) / size)


def instance_sizes(bboxes: np.ndarray, metainfo: dict) -> np.ndarray:
    """``s = √(w h)`` ``(M,)`` in input pixels of bottom-up predictions with ``(M, 4)`` xyxy
    boxes in image pixels: the boxes mapped back to the model input (the inverse of MMPose's
    ``BottomupPoseEstimator.add_pred_to_datasample``) and clamped to it, each side at least
    one pixel — the instance size of ``YOLOXPoseRLEHead`` with ``residual_unit='instance'``,
    for predictions that do not carry their ``instance_sizes`` (MMPose's ``YOLOXPoseHead``).
    """
    size = np.asarray(metainfo['input_size'], np.float64)
    scale = np.asarray(metainfo['input_scale'], np.float64)
    centre = np.asarray(metainfo['input_center'], np.float64)
    corners = (np.asarray(bboxes, np.float64).reshape(-1, 2, 2) - centre + 0.5 * scale) / scale
    corners = np.clip(corners * size, 0, size)
    return np.clip(corners[:, 1] - corners[:, 0], 1, None).prod(-1) ** 0.5


def _append_bottomup(out: Dict[str, list], sample) -> None:
    """Add the paired instances of one predicted bottom-up image (head units, module
    docstring) and its missing ground truth."""
    pred, gt, meta = sample.pred_instances, sample.gt_instances, sample.metainfo
    pairs = instance_pairs(pred, gt, 'bottomup')
    group = meta.get('img_id', meta.get('img_path'))
    to_input = np.asarray(meta['input_size'], np.float64) / np.asarray(meta['input_scale'])
    if 'instance_sizes' in pred:  # the head's own s (any residual unit)
        sizes = np.asarray(pred.instance_sizes, np.float64)[pairs.pred]
    else:
        sizes = instance_sizes(np.asarray(pred.bboxes)[pairs.pred], meta)
    unit = sizes[:, None, None]
    labels = np.asarray(gt.keypoints, np.float64)
    errors = (np.asarray(pred.keypoints, np.float64)[pairs.pred] - labels[pairs.gt]) * to_input
    out['errors'].append(errors / unit)
    out['scores'].append(np.asarray(pred.keypoint_scores, np.float64)[pairs.pred])
    visible = np.asarray(gt.keypoints_visible).reshape(labels.shape[:2]) > 0
    out['visible'].append(visible[pairs.gt])
    out['groups'] += [group] * len(pairs.gt)
    out['missing'] += [group] * len(pairs.missing)
    out['scale'].append(sizes[:, None] / to_input)
    if 'keypoint_sigmas' in pred:
        out['sigmas'].append(np.asarray(pred.keypoint_sigmas, np.float64)[pairs.pred] / unit)


def _video(sample) -> str:
    """The video of a lifting sample: its image name without the frame number."""
    name = osp.basename(str(np.asarray(sample.metainfo['target_img_path']).reshape(-1)[0]))
    return name.rsplit('_', 1)[0]


def _append_lifting(out: Dict[str, list], sample, unit_to_mm: float) -> None:
    """Add one predicted lifting sample (millimetres, module docstring)."""
    pred, gt = sample.pred_instances, sample.gt_instances
    kpts = np.asarray(pred.keypoints, np.float64).reshape(-1, 3)
    target = np.asarray(gt.lifting_target, np.float64).reshape(-1, 3)
    out['errors'].append(((kpts - target) * unit_to_mm)[None])
    out['visible'].append((np.asarray(gt.lifting_target_visible).reshape(-1) > 0)[None])
    out['groups'].append(_video(sample))
    if 'keypoint_sigmas' in pred:
        out['sigmas'].append(np.asarray(pred.keypoint_sigmas, np.float64).reshape(1, -1, 3))


@torch.no_grad()
def collect_predictions(
    model: nn.Module, dataloader, keep_samples: bool = False, mode: Optional[str] = None
) -> Dict[str, np.ndarray]:
    """Errors, σ and scores of every instance (units: module docstring).

    Args:
        model (nn.Module): A top-down pose model, a bottom-up one with the one-stage RLE
            head, or a pose lifter.
        dataloader: Its data (a loader of packed samples with ground truth).
        keep_samples (bool): Also return the predicted data samples. Default: False.
        mode (str, optional): Inference mode, ``'single'`` or ``'flip'`` (the flip test
            off or on); None predicts as the model's ``test_cfg`` says. Default: None.

    Returns:
        dict: ``errors`` and ``sigmas`` ``(N, K, D)`` (``sigmas`` absent when the model
        predicts no ``keypoint_sigmas``), ``visible`` ``(N, K)`` and ``groups`` ``(N,)``
        (the image of each instance, or the video of each lifting sample, for
        cross-fitting by group); 2-D only: ``scores`` ``(N, K)`` and ``scale`` ``(N, D)``
        (the unit of ``errors`` in image pixels: the crop size top-down, ``s`` bottom-up);
        bottom-up only: ``missing`` ``(U,)``, the image of each labelled ground-truth
        instance left without a prediction; with ``keep_samples`` also ``samples``, the
        predicted data samples in the same order.
    """
    if mode not in (None, 'single', 'flip'):
        raise ValueError(f"mode must be None, 'single' or 'flip', got {mode!r}")
    model.eval()
    unit_to_mm = getattr(model.head, 'unit_to_mm', UNIT_TO_MM)
    bottomup = isinstance(model, BottomupPoseEstimator)
    out: Dict[str, list] = {
        k: [] for k in ('errors', 'sigmas', 'scores', 'visible', 'groups', 'scale', 'missing')
    }
    samples = []
    with flip_test_as(model, None if mode is None else mode == 'flip'):
        for batch in dataloader:
            for sample in model.test_step(batch):
                if bottomup:
                    _append_bottomup(out, sample)
                elif 'lifting_target' in sample.gt_instances:
                    _append_lifting(out, sample, unit_to_mm)
                else:
                    _append_topdown(out, sample)
                if keep_samples:
                    samples.append(sample)
    lists = ('groups', 'missing')
    result = {k: np.concatenate(v) for k, v in out.items() if v and k not in lists}
    result['groups'] = np.asarray(out['groups'])
    if bottomup:
        result['missing'] = np.asarray(out['missing'])
    if keep_samples:
        result['samples'] = samples
    return result


def to_head_units(head: nn.Module, predictions: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """``predictions`` of :func:`collect_predictions` in the units of ``head``'s σ map.

    A 2-D head's (top-down or bottom-up) are collected in them already and are returned
    as they are. For a head with ``sigma_scale_mm()`` (``(K, 3)`` millimetres per unit of
    its RMS, the lifting head), ``errors`` and ``sigmas`` are divided by it, the root that
    the codec put back (``K + 1`` joints collected) is dropped, and the joint the codec
    pins to the origin (``fixed_root()``: error and σ 0 by construction) is made invisible.
    """
    scale_mm = getattr(head, 'sigma_scale_mm', None)
    if scale_mm is None:
        return predictions
    joints = np.arange(predictions['errors'].shape[1])
    keep = joints >= 0
    if len(joints) == head.num_joints + 1:
        keep = joints != head.decoder.root_index[0]
    out = dict(predictions, visible=predictions['visible'][:, keep].copy())
    for key in ('errors', 'sigmas'):
        if key in predictions:
            out[key] = predictions[key][:, keep] / scale_mm()
    fixed = head.fixed_root()
    if fixed is not None:
        out['visible'][:, fixed] = False
    return out
