"""Calibrate the σ of an RLE head: fit, report on held-out data, set the head's map."""

from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

from mmpose_rle.evaluation import uncertainty_metrics

from .collect import collect_predictions
from .fit import cross_fit, fit_calibration

__all__ = ['calibrate_head', 'calibrate_model', 'format_report']


def calibrate_head(
    head: nn.Module,
    predictions: Dict[str, np.ndarray],
    kind: str = 'temperature',
    share: str = 'none',
    family: Optional[str] = None,
    folds: int = 5,
    seed: int = 0,
) -> dict:
    """Fit the map on all ``predictions`` (uncalibrated, see :func:`collect_predictions`)
    and set it in ``head.sigma_calibration``.

    Args:
        head (nn.Module): A head of the RLE family.
        predictions (dict): ``errors``, ``sigmas``, ``visible``, ``groups``.
        kind, share: See :func:`~mmpose_rle.calibration.fit_calibration`.
        family (str, optional): Error model; the loss's ``q_distribution`` when None.
        folds (int): Folds (by image) of the cross-fitted, held-out report.
        seed (int): Seed of the fold assignment.

    Returns:
        dict: The settings, the fitted ``log_scale`` and ``power`` (lists), and the
        uncertainty metrics of the visible keypoints ``before`` calibration and
        ``heldout`` (calibrated by maps fitted on the other folds).
    """
    if 'sigmas' not in predictions:
        raise ValueError('the model predicts no keypoint_sigmas: nothing to calibrate')
    family = family or getattr(head.loss_module, 'q_distribution', 'laplace')
    e, s = predictions['errors'], predictions['sigmas']
    v, groups = predictions['visible'], predictions['groups']
    held = cross_fit(e, s, v, folds, seed, groups, family=family, kind=kind, share=share)
    log_scale, power = fit_calibration(e, s, v, family=family, kind=kind, share=share)
    head.sigma_calibration.set_(torch.from_numpy(log_scale), torch.from_numpy(power))
    return dict(
        kind=kind,
        share=share,
        family=family,
        folds=folds,
        instances=int(len(e)),
        log_scale=log_scale.tolist(),
        power=power.tolist(),
        before=uncertainty_metrics(e[v], s[v], family),
        heldout=uncertainty_metrics(e[v], held[v], family),
    )


def calibrate_model(model: nn.Module, dataloader, **kwargs) -> dict:
    """Reset ``model.head``'s calibration, collect its predictions on ``dataloader`` and
    :func:`calibrate_head` (keyword arguments are passed on)."""
    head = model.head
    head.sigma_calibration.set_(torch.zeros_like(head.sigma_calibration.log_scale))
    return calibrate_head(head, collect_predictions(model, dataloader), **kwargs)


def format_report(report: dict) -> str:
    """A small table of the held-out metrics before and after calibration."""
    keys = ['within_1sigma', 'within_2sigma', 'within_3sigma', 'ece', 'nll', 'ause']
    nominal = ' / '.join(f'{report["before"][f"nominal_{k}sigma"]:.3f}' for k in (1, 2, 3))
    lines = [
        f'σ calibration ({report["kind"]}, share={report["share"]}, {report["family"]} errors, '
        f'{report["instances"]} instances, {report["folds"]}-fold held-out; nominal coverage '
        f'{nominal})',
        '| | ' + ' | '.join(keys) + ' |',
        '|---' * (len(keys) + 1) + '|',
    ]
    for name in ('before', 'heldout'):
        lines.append(f'| {name} | ' + ' | '.join(f'{report[name][k]:.3f}' for k in keys) + ' |')
    return '\n'.join(lines)
