r"""Could RTMO's regression branch carry the RLE term? Its errors beside its classifier's.

MMPose's RTMO predicts keypoints with its dynamic coordinate classifier (DCC); its regression
branch is trained too but not used for the predictions
(:mod:`mmpose_rle.models.heads.rtmo_regression_head`). An RLE term on the regression branch
would learn σ for the regression branch's errors ``e_reg``; a user reads σ beside the DCC's
predictions, whose errors are ``e_dcc``. That σ is useful only when the two errors are
large and small on the same keypoints. For one trained RTMO model this module compares, on
the same kept priors (same boxes, same pairing with the ground truth by box IoU,
:func:`~mmpose_rle.calibration.collect_predictions`), per visible keypoint::

    e = ‖μ̂ − x‖ · (input_size / input_scale) / s        (s: the instance's size √(w h))

* ``dcc/q50``, ``dcc/q90``, ``reg/q50``, ``reg/q90``: quantiles of ``e`` per estimator;
* ``rho_keypoint``: Spearman ρ between ``e_reg`` and ``e_dcc`` over the visible keypoints;
  ``rho_instance``: the same between the instances' mean errors;
* ``reg_closer``: the fraction of keypoints where the regression branch is the closer;
* ``dcc/AP``, ``reg/AP``: COCO AP of the same instances with each estimator's keypoints.

A σ that knew ``E|e_reg|`` exactly would rank ``e_dcc`` about as well as the errors agree:
``rho_keypoint`` near 1 says the regression branch's σ would serve the DCC's predictions,
near 0 that it would not.
"""

from typing import Dict, List, Mapping

import numpy as np
from mmengine.evaluator import Evaluator
from scipy import stats

from .error_quantiles import error_quantiles
from .report import format_cell, summarise

__all__ = ['branch_errors', 'branch_ap', 'branches_markdown', 'BRANCH_COLUMNS']

#: Columns of :func:`branches_markdown`: (key, header, format).
BRANCH_COLUMNS = (
    ('dcc/AP', "COCO AP, DCC (RTMO's)", '{:.3f}'),
    ('reg/AP', 'COCO AP, regression branch', '{:.3f}'),
    ('dcc/q50', 'median error / size, DCC', '{:.4f}'),
    ('reg/q50', 'median error / size, regression', '{:.4f}'),
    ('dcc/q90', '90th pct., DCC', '{:.4f}'),
    ('reg/q90', '90th pct., regression', '{:.4f}'),
    ('rho_keypoint', 'ρ(e_reg, e_dcc), keypoints', '{:.2f}'),
    ('rho_instance', 'ρ, instances', '{:.2f}'),
    ('reg_closer', 'regression closer', '{:.2f}'),
)


def _norms(predictions: Mapping[str, np.ndarray]) -> np.ndarray:
    """``(N, K)`` Euclidean errors, NaN where the keypoint is not visible."""
    norms = np.linalg.norm(np.asarray(predictions['errors'], float), axis=-1)
    return np.where(np.asarray(predictions['visible']) > 0, norms, np.nan)


def branch_errors(dcc: Mapping[str, np.ndarray], reg: Mapping[str, np.ndarray]) -> Dict[str, float]:
    """The error statistics of the module docstring.

    Args:
        dcc (Mapping): :func:`~mmpose_rle.calibration.collect_predictions` of the model
            predicting with its classifier: ``errors`` ``(N, K, 2)`` (instance units),
            ``visible`` ``(N, K)``, ``groups`` ``(N,)``.
        reg (Mapping): The same for the regression branch, on the same instances.

    Returns:
        dict: ``dcc/q50`` … ``reg_closer`` and ``num_keypoints``.

    Raises:
        ValueError: If the two sets do not pair the same ground truth (shapes, images or
            visibility differ), or no keypoint is visible.
    """
    for key in ('errors', 'visible', 'groups'):
        if np.shape(dcc[key]) != np.shape(reg[key]) or (
            key != 'errors' and not np.array_equal(dcc[key], reg[key])
        ):
            raise ValueError(
                f'the two estimators were not paired with the same ground truth: {key}'
            )
    e_dcc, e_reg = _norms(dcc), _norms(reg)
    visible = ~np.isnan(e_dcc)
    if not visible.any():
        raise ValueError('no visible keypoint was paired with a prediction')
    per_instance = visible.any(1)
    mean_dcc = np.nanmean(e_dcc[per_instance], axis=1)
    mean_reg = np.nanmean(e_reg[per_instance], axis=1)
    result = {f'dcc/{k[6:]}': v for k, v in error_quantiles(dict(dcc)).items()}
    result.update({f'reg/{k[6:]}': v for k, v in error_quantiles(dict(reg)).items()})
    result.update(
        rho_keypoint=float(stats.spearmanr(e_reg[visible], e_dcc[visible]).statistic),
        rho_instance=float(stats.spearmanr(mean_reg, mean_dcc).statistic),
        reg_closer=float(np.mean(e_reg[visible] < e_dcc[visible])),
        num_keypoints=int(visible.sum()),
    )
    return result


def branch_ap(samples: List, coco_metric: dict, dataset_meta: dict) -> float:
    """COCO AP of predicted data samples with MMPose's evaluator config ``coco_metric`` (the
    config's ``test_evaluator``) and the data set's ``dataset_meta``."""
    evaluator = Evaluator([dict(coco_metric)])
    evaluator.dataset_meta = dataset_meta
    evaluator.process(samples)
    metrics = evaluator.evaluate(len(samples))
    (key,) = [k for k in metrics if k.endswith('/AP')]
    return float(metrics[key])


def branches_markdown(results: Mapping[str, Mapping[str, float]]) -> str:
    """A table of :data:`BRANCH_COLUMNS`, one row per model and, for several, their mean ±
    standard deviation."""
    header = '| model | ' + ' | '.join(h for _, h, _ in BRANCH_COLUMNS) + ' |'
    lines = [header, '|' + '---|' * (len(BRANCH_COLUMNS) + 1)]
    for name, row in results.items():
        cells = [fmt.format(row[key]) for key, _, fmt in BRANCH_COLUMNS]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    if len(results) > 1:
        summary = summarise(list(results.values()))
        cells = [format_cell(summary, key, fmt) for key, _, fmt in BRANCH_COLUMNS]
        lines.append(f'| mean ± std ({len(results)}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
