r"""The σ report: uncertainty metrics of σ as predicted and after a held-out calibration.

For errors ``e`` and predicted σ ``(N, K, D)`` (same units) and the visible keypoints —
one row per instance: a top-down crop, a lifting sample, or a bottom-up model's prediction
paired with a ground-truth instance (:func:`~mmpose_rle.calibration.collect_predictions`;
grouped by image, so an image's instances share a fold) — :func:`heldout_report` gives
:func:`~mmpose_rle.evaluation.uncertainty_metrics` of

* ``raw`` — σ as predicted;
* one entry per map kind (``'temperature'``, ``'power'``) — σ calibrated by that map,
  **cross-fitted** (:func:`~mmpose_rle.calibration.cross_fit`): each sample's σ comes from
  a map fitted on the other folds (grouped, e.g. by image or video), so no metric is
  computed on data its map saw.

:func:`format_report` prints the report of a calibration
(:func:`~mmpose_rle.calibration.calibrate_head`) as a table.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mmpose_rle.evaluation import uncertainty_metrics

from .fit import cross_fit

__all__ = ['heldout_report', 'format_report']


def heldout_report(
    errors: np.ndarray,
    sigmas: np.ndarray,
    visible: np.ndarray,
    groups: Optional[np.ndarray] = None,
    family: str = 'laplace',
    kinds: Sequence[str] = ('temperature',),
    share: str = 'none',
    folds: int = 5,
    seed: int = 0,
) -> Tuple[Dict[str, Dict[str, float]], Dict[str, np.ndarray]]:
    """Metrics of the raw and of the cross-fitted calibrated σ (module docstring).

    Args:
        errors (np.ndarray): ``(N, K, D)`` errors.
        sigmas (np.ndarray): ``(N, K, D)`` predicted σ, same units.
        visible (np.ndarray): ``(N, K)`` the keypoints the metrics count.
        groups (np.ndarray, optional): ``(N,)`` the group of each sample, kept in one fold;
            every sample its own group when None.
        family (str): Error model, ``'laplace'`` or ``'gaussian'``. Default: ``'laplace'``.
        kinds (Sequence[str]): Map kinds to cross-fit. Default: ``('temperature',)``.
        share (str): Pooling of the maps (:func:`~mmpose_rle.calibration.fit_calibration`).
            Default: ``'none'``.
        folds (int): Folds of the cross-fit. Default: 5.
        seed (int): Seed of the fold assignment. Default: 0.

    Returns:
        tuple: ``metrics`` — ``{'raw': ..., kind: ...}``, each the dict of
        :func:`~mmpose_rle.evaluation.uncertainty_metrics` over the visible keypoints — and
        ``calibrated`` — ``{kind: (N, K, D) cross-fitted σ}``.
    """
    metrics = {'raw': uncertainty_metrics(errors[visible], sigmas[visible], family)}
    calibrated = {}
    for kind in kinds:
        calibrated[kind] = cross_fit(
            errors, sigmas, visible, folds, seed, groups, family=family, kind=kind, share=share
        )
        metrics[kind] = uncertainty_metrics(errors[visible], calibrated[kind][visible], family)
    return metrics, calibrated


def format_report(report: dict) -> str:
    """A small table of the held-out metrics before and after calibration, for one
    report of :func:`~mmpose_rle.calibration.calibrate_head` or the ``{mode: report}`` of
    :func:`~mmpose_rle.calibration.calibrate_model`."""
    if 'before' not in report:
        return '\n\n'.join(format_report(r) for r in report.values())
    keys = ['within_1sigma', 'within_2sigma', 'within_3sigma', 'ece', 'nll', 'ause']
    nominal = ' / '.join(f'{report["before"][f"nominal_{k}sigma"]:.3f}' for k in (1, 2, 3))
    mode = {'single': ', single view', 'flip': ', flip test'}.get(report.get('mode'), '')
    missing = ''
    if 'missing' in report:
        missing = f' ({report["missing"]} unpaired ground truth left out)'
    lines = [
        f'σ calibration{mode} ({report["kind"]}, share={report["share"]}, '
        f'{report["family"]} errors, {report["instances"]} instances{missing}, '
        f'{report["folds"]}-fold held-out; nominal coverage {nominal})',
        '| | ' + ' | '.join(keys) + ' |',
        '|---' * (len(keys) + 1) + '|',
    ]
    for name in ('before', 'heldout'):
        lines.append(f'| {name} | ' + ' | '.join(f'{report[name][k]:.3f}' for k in keys) + ' |')
    return '\n'.join(lines)
