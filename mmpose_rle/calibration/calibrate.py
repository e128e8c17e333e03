"""Calibrate the σ of an RLE head: fit, report on held-out data, set the head's maps.

The head keeps a map per inference mode (:class:`~mmpose_rle.models.utils.SigmaCalibration`):
one view (``'single'``: ``predict_outputs``, the ONNX graph, ``predict`` without flip test)
and the flip test (``'flip'``). :func:`calibrate_model` runs the model in each mode it can
predict in and fits each mode's map on the predictions of that mode.

A bottom-up model (``BottomupPoseEstimator`` with a one-stage RLE head, ``YOLOXPoseRLEHead``
or ``RTMORLEHead``; one mode: ``'single'``) is fitted the same way on its labelled
ground-truth instances paired with a prediction
(:func:`~mmpose_rle.calibration.collect_predictions`), in the head's units (errors and σ
divided by the instance size ``s``); its report adds ``missing``, the ground-truth instances
left without a prediction (not counted as errors).
"""

from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .collect import collect_predictions, inference_modes, to_head_units
from .fit import fit_calibration
from .report import heldout_report

__all__ = ['calibrate_head', 'calibrate_model']


def _check(predictions: Dict[str, np.ndarray]) -> None:
    """Raise a ValueError when ``predictions`` leave nothing to calibrate: no ``sigmas``,
    or no visible keypoint (bottom-up: no labelled ground truth paired with a prediction)."""
    if 'sigmas' not in predictions:
        raise ValueError('the model predicts no keypoint_sigmas: nothing to calibrate')
    if not np.asarray(predictions['visible']).any():
        raise ValueError(
            'no visible keypoint with a prediction (bottom-up: no labelled ground truth '
            'paired with a prediction): nothing to calibrate'
        )


def calibrate_head(
    head: nn.Module,
    predictions: Dict[str, np.ndarray],
    kind: str = 'temperature',
    share: str = 'none',
    family: Optional[str] = None,
    folds: int = 5,
    seed: int = 0,
    mode: str = 'single',
) -> dict:
    """Fit the map on all ``predictions`` (uncalibrated, see :func:`collect_predictions`)
    and set it as the map of ``mode`` in ``head.sigma_calibration``.

    Args:
        head (nn.Module): A head of the RLE family.
        predictions (dict): ``errors``, ``sigmas``, ``visible``, ``groups``, predicted in
            ``mode``, in the units of the head's σ map
            (:func:`~mmpose_rle.calibration.to_head_units`).
        kind, share: See :func:`~mmpose_rle.calibration.fit_calibration`.
        family (str, optional): Error model; the loss's ``q_distribution`` when None.
        folds (int): Folds (by group: image or video) of the cross-fitted, held-out report.
        seed (int): Seed of the fold assignment.
        mode (str): The inference mode the predictions were made in, ``'single'`` or
            ``'flip'``. Default: ``'single'``.

    Returns:
        dict: The settings (``mode`` included), the fitted ``log_scale`` and ``power``
        (lists), and the uncertainty metrics of the visible keypoints ``before``
        calibration and ``heldout`` (calibrated by maps fitted on the other folds);
        bottom-up also ``missing``, the count of unpaired ground-truth instances.

    Raises:
        ValueError: Without ``sigmas`` or without a visible keypoint.
    """
    _check(predictions)
    family = family or head.q_distribution
    e, s = predictions['errors'], predictions['sigmas']
    v, groups = predictions['visible'], predictions['groups']
    metrics, _ = heldout_report(
        e, s, v, groups, family=family, kinds=(kind,), share=share, folds=folds, seed=seed
    )
    log_scale, power = fit_calibration(e, s, v, family=family, kind=kind, share=share)
    head.sigma_calibration.set_(torch.from_numpy(log_scale), torch.from_numpy(power), mode=mode)
    extra = {} if 'missing' not in predictions else dict(missing=len(predictions['missing']))
    return dict(
        mode=mode,
        kind=kind,
        share=share,
        family=family,
        folds=folds,
        instances=int(len(e)),
        log_scale=log_scale.tolist(),
        power=power.tolist(),
        before=metrics['raw'],
        heldout=metrics[kind],
        **extra,
    )


def calibrate_model(
    model: nn.Module,
    dataloader,
    modes: Optional[Sequence[str]] = None,
    gather: Optional[Callable[[dict], dict]] = None,
    **kwargs,
) -> Dict[str, dict]:
    """Reset ``model.head``'s calibration, then, for each inference mode, collect the
    model's predictions on ``dataloader`` in that mode and :func:`calibrate_head` the
    mode's map (keyword arguments are passed on).

    Args:
        model (nn.Module): A pose model with a head of the RLE family: a top-down model,
            a bottom-up one (``YOLOXPoseRLEHead``, ``RTMORLEHead``: fitted on the ground
            truth paired with its predictions, in instance sizes) or a pose lifter
            (``RLELiftingHead``; its predictions are fitted in the units of its σ map,
            :func:`~mmpose_rle.calibration.to_head_units`).
        dataloader: Data with ground truth (the validation split).
        modes (Sequence[str], optional): Modes to fit; None: every mode the model can
            predict the data in (:func:`~mmpose_rle.calibration.inference_modes`: the flip
            test too for 2-D heads on data with ``flip_indices``). A mode not fitted keeps
            the identity.
        gather (callable, optional): Combines the predictions of the processes of a
            distributed run (the calibration hook passes one); None uses them as they are.

    Returns:
        dict: ``{mode: report}``, the report of :func:`calibrate_head` of each mode.
    """
    head = model.head
    head.sigma_calibration.reset_()
    reports = {}
    for mode in inference_modes(model, dataloader) if modes is None else modes:
        predictions = to_head_units(head, collect_predictions(model, dataloader, mode=mode))
        if gather is not None:
            predictions = gather(predictions)
        reports[mode] = calibrate_head(head, predictions, mode=mode, **kwargs)
    return reports
