"""Run a top-down model over a data loader, in a chosen inference mode, and keep what a
σ calibration needs.

The inference modes are those of the head's σ maps
(:class:`~mmpose_rle.models.utils.SigmaCalibration`): ``'single'`` (one view) and
``'flip'`` (MMPose's flip test, ``test_cfg['flip_test']``).
"""

from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import torch
from torch import nn

__all__ = ['collect_predictions', 'flip_test_as', 'inference_modes']


def inference_modes(model: nn.Module, dataloader) -> Tuple[str, ...]:
    """The modes ``model`` can predict ``dataloader``'s data in: those of its head
    (``head.inference_modes``; ``('single',)`` when it has none), ``'flip'`` only when the
    data set's metainfo has ``flip_indices``."""
    modes = tuple(getattr(model.head, 'inference_modes', ('single',)))
    metainfo = getattr(dataloader.dataset, 'metainfo', None) or {}
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


def _append(out: Dict[str, list], sample) -> None:
    """Add one predicted data sample to the lists of :func:`collect_predictions`."""
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


@torch.no_grad()
def collect_predictions(
    model: nn.Module, dataloader, keep_samples: bool = False, mode: Optional[str] = None
) -> Dict[str, np.ndarray]:
    """Errors, σ and scores of every instance, in normalised units of its crop.

    Normalised units are those of the head (``RegressionLabel``): image pixels divided by
    the crop's ``input_scale`` per axis, which is also what ``keypoint_sigmas`` (input
    pixels) divided by ``input_size`` gives.

    Args:
        model (nn.Module): A top-down pose model.
        dataloader: Its data (a loader of packed samples with ground truth).
        keep_samples (bool): Also return the predicted data samples. Default: False.
        mode (str, optional): Inference mode, ``'single'`` or ``'flip'`` (the flip test
            off or on); None predicts as the model's ``test_cfg`` says. Default: None.

    Returns:
        dict: ``errors`` and ``sigmas`` ``(N, K, D)`` (``sigmas`` absent when the model
        predicts no ``keypoint_sigmas``), ``scores`` and ``visible`` ``(N, K)``, ``groups``
        ``(N,)`` (the image of each instance, for cross-fitting by image) and ``scale``
        ``(N, D)`` (the crop size in image pixels); with ``keep_samples`` also ``samples``,
        the predicted data samples in the same order.
    """
    if mode not in (None, 'single', 'flip'):
        raise ValueError(f"mode must be None, 'single' or 'flip', got {mode!r}")
    model.eval()
    out: Dict[str, list] = dict(errors=[], sigmas=[], scores=[], visible=[], groups=[], scale=[])
    samples = []
    with flip_test_as(model, None if mode is None else mode == 'flip'):
        for batch in dataloader:
            for sample in model.test_step(batch):
                _append(out, sample)
                if keep_samples:
                    samples.append(sample)
    result = {k: np.concatenate(v) for k, v in out.items() if v and k != 'groups'}
    result['groups'] = np.asarray(out['groups'])
    if keep_samples:
        result['samples'] = samples
    return result
