"""Evaluate a trained variant: accuracy, the calibration of σ, COCO AP with σ-based scores.

:func:`train_and_evaluate` trains a run (:func:`~mmpose_rle.benchmark.training.train_variant`)
and evaluates its checkpoint in-process (:func:`evaluate_checkpoint`), which adds what
neither reference measures: the uncertainty metrics of the predicted σ, raw and calibrated
on held-out folds, and the same for the heatmap head's confidence
(:mod:`~mmpose_rle.benchmark.uncertainty_eval`), and COCO AP with σ-based scores.
"""

import os.path as osp
from typing import Dict

import numpy as np
from mmengine.config import Config
from mmpose.models.pose_estimators import BottomupPoseEstimator

from mmpose_rle.calibration import collect_predictions
from mmpose_rle.engine import CPUAwareRunner

from .curves import learning_curve
from .error_quantiles import error_quantiles
from .training import train_variant
from .uncertainty_eval import (
    coco_metric_args,
    model_coverage,
    ranking_report,
    sigma_scored_coco,
    uncertainty_report,
)

__all__ = ['train_and_evaluate', 'evaluate_checkpoint', 'mark_divergence']


def evaluate_checkpoint(
    cfg: Config, checkpoint: str, work_dir: str, folds: int = 5
) -> Dict[str, object]:
    """Test metrics of the config's evaluator, the uncertainty report of the predicted σ
    (or of the heatmap's score) and COCO AP with σ-based scores.

    Returns:
        dict: the evaluator's metrics; ``raw/…``, ``temperature/…``, ``power/…``,
        ``predicts_sigma`` and ``curves``
        (:func:`~mmpose_rle.benchmark.uncertainty_eval.uncertainty_report`);
        ``model/nominal_{1,2}sigma`` for an RLE head
        (:func:`~mmpose_rle.benchmark.uncertainty_eval.model_coverage`); ``error/q50`` and
        ``error/q90``, quantiles of the keypoint error in units of the crop or instance
        (:func:`~mmpose_rle.benchmark.error_quantiles.error_quantiles`); and for models
        with σ, ``sigma_score/coco/AP`` and the like, COCO AP with each keypoint scored by
        its expected OKS under the cross-fitted temperature-calibrated σ; with a
        ``CocoMetric``, :func:`~mmpose_rle.benchmark.uncertainty_eval.ranking_report`'s
        ranking of the instance scores and AP of the best ranking.
    """
    cfg = cfg.copy()
    cfg.load_from, cfg.work_dir = checkpoint, work_dir
    runner = CPUAwareRunner.from_cfg(cfg)
    metrics: Dict[str, object] = dict(runner.test())
    model = runner.model.eval()
    predictions = collect_predictions(model, runner.test_dataloader, keep_samples=True)
    family = getattr(model.head, 'q_distribution', None) or getattr(  # else MMPose's head's loss
        getattr(model.head, 'loss_module', None), 'q_distribution', 'laplace'
    )
    report = uncertainty_report(predictions, family, folds)
    calibrated = report.pop('calibrated_sigmas')
    metrics.update(report)  # with 'curves': the reliability and sparsification curves
    metrics.update(model_coverage(model.head))
    metrics.update(error_quantiles(predictions))
    coco = coco_metric_args(cfg.test_evaluator)
    meta = runner.test_dataloader.dataset.metainfo
    if isinstance(model, BottomupPoseEstimator):  # rows: paired instances, not predictions
        paired, missing = len(predictions['errors']), len(predictions['missing'])
        metrics['missing'] = missing / max(paired + missing, 1)
        coco = None  # the ranking reports need one row per predicted instance
    if coco is not None:
        sigmas = calibrated['temperature'] if 'sigmas' in predictions else None
        metrics.update(ranking_report(predictions, coco, meta, sigmas))
    if 'sigmas' in predictions and coco is not None:
        scored = sigma_scored_coco(
            predictions['samples'],
            calibrated['temperature'],
            coco,
            meta,
        )
        metrics.update({f'sigma_score/{k}': v for k, v in scored.items()})
    return metrics


def mark_divergence(run: Dict[str, object]) -> Dict[str, object]:
    """Mark a run whose predictions are not finite (``EPE`` NaN) as ``failed``.

    A model that diverged to NaN still "evaluates": PCK counts its keypoints as misses, but
    MMPose's COCO evaluation scores NaN keypoints as perfect matches (AP 1.0). The run's
    ``coco/…`` metrics are set to NaN and ``failed`` says why, so that no table shows a
    diverged model with a perfect AP.
    """
    epe = run.get('EPE')
    if isinstance(epe, (int, float, np.number)) and not np.isfinite(epe):
        for key in [k for k in run if 'coco/' in k]:
            run[key] = float('nan')
        run.setdefault(
            'failed',
            'diverged: the predicted keypoints are not finite (EPE NaN); COCO AP set to NaN',
        )
    return run


def train_and_evaluate(
    cfg: Config, work_dir: str, seed: int, epochs: int, **train_options
) -> Dict[str, object]:
    """:func:`~mmpose_rle.benchmark.training.train_variant` then :func:`evaluate_checkpoint`,
    recording a failure rather than stopping the benchmark.

    Args:
        cfg, work_dir, seed, epochs: The run (see
            :func:`~mmpose_rle.benchmark.training.train_variant`).
        **train_options: ``reuse`` and ``val_interval`` of
            :func:`~mmpose_rle.benchmark.training.train_variant`.

    Returns:
        dict: the test metrics, ``train_time``, ``iter_time`` (when logged) and ``curve``;
        or ``failed`` (the stage and the error) with what was measured before it. A run whose
        training diverges to NaN without an error is reported with its NaN metrics and
        marked ``failed`` (:func:`mark_divergence`).
    """
    try:
        trained = train_variant(cfg, work_dir, seed, epochs, **train_options)
    except RuntimeError as err:
        log = osp.join(work_dir, 'train.log')
        return dict(failed=f'training: {err}', curve=learning_curve(log) if osp.exists(log) else [])
    run: Dict[str, object] = dict(train_time=trained['train_time'], curve=trained['curve'])
    if trained['iter_time'] is not None:
        run['iter_time'] = trained['iter_time']
    try:
        run.update(evaluate_checkpoint(cfg, trained['checkpoint'], work_dir))
    except (RuntimeError, ValueError, FloatingPointError) as err:
        run['failed'] = f'evaluation: {type(err).__name__}: {err}'
    return mark_divergence(run)
