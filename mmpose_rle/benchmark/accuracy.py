"""Train a variant for a budget and evaluate accuracy and the calibration of σ.

Training runs ``python -m mmpose_rle.cli.train`` in a subprocess (a fresh process per run,
exactly what a user runs; it works from a wheel too); evaluation runs the test loop
in-process and adds what neither reference measures: the uncertainty metrics of the predicted
σ, raw and calibrated on held-out folds, and the same for the heatmap head's confidence
(:mod:`~mmpose_rle.benchmark.uncertainty_eval`), and COCO AP with σ-based scores.

Besides the wall time of a run (``train_time``, which includes data loading, validation
and start-up), :func:`median_iter_time` reads the per-iteration ``time`` of MMEngine's
training log, the cost of one step that runs of different lengths can be compared by.
"""

import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, Optional

import numpy as np
from mmengine.config import Config

from mmpose_rle.calibration import collect_predictions
from mmpose_rle.engine import CPUAwareRunner

from .curves import learning_curve
from .uncertainty_eval import (
    coco_metric_args,
    ranking_report,
    sigma_scored_coco,
    uncertainty_report,
)

__all__ = [
    'train_variant',
    'train_and_evaluate',
    'evaluate_checkpoint',
    'median_iter_time',
]

# MMEngine's LogProcessor writes e.g. "Epoch(train)  [3][6/6]  lr: 1e-03  eta: 0:01:02
# time: 0.6402  data_time: 0.0123 ...": `time` is the mean step time over the log window.
_TRAIN_TIME = re.compile(r'Epoch\(train\).*?\btime: ([0-9]*\.?[0-9]+)')


def median_iter_time(log_path: str) -> Optional[float]:
    """Median of the ``time`` field (seconds per training iteration, data loading
    included) over the training lines of an MMEngine log; None when it has none."""
    if not osp.exists(log_path):
        return None
    with open(log_path, errors='replace') as f:
        times = [float(m.group(1)) for m in map(_TRAIN_TIME.search, f) if m]
    return float(np.median(times)) if times else None


def train_variant(
    cfg: Config,
    work_dir: str,
    seed: int,
    epochs: int,
    reuse: bool = False,
    val_interval: Optional[int] = None,
) -> Dict[str, object]:
    """Train ``cfg`` for ``epochs`` with ``seed``, validating every ``val_interval`` epochs
    (only at the end when None).

    Returns:
        dict: ``checkpoint`` (path), ``train_time`` (wall time of the training process, s),
        ``iter_time`` (median seconds per iteration from its log, or None) and ``curve``
        (the validations of the log, :func:`~mmpose_rle.benchmark.curves.learning_curve`).

    With ``reuse``, a run whose checkpoint and ``train_time.json`` are already in
    ``work_dir`` is not trained again (an interrupted benchmark continues).
    """
    os.makedirs(work_dir, exist_ok=True)
    checkpoint = osp.join(work_dir, f'epoch_{epochs}.pth')
    record = osp.join(work_dir, 'train_time.json')
    log_path = osp.join(work_dir, 'train.log')
    if not (reuse and osp.exists(checkpoint) and osp.exists(record)):
        cfg_path = osp.join(work_dir, 'config.py')
        cfg.dump(cfg_path)
        cmd = [
            sys.executable,
            '-m',
            'mmpose_rle.cli.train',
            cfg_path,
            '--work-dir',
            work_dir,
            '--cfg-options',
            f'randomness.seed={seed}',
            f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_interval={val_interval or epochs}',
            f'default_hooks.checkpoint.interval={epochs}',
        ]
        start = time.time()
        with open(log_path, 'w') as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise RuntimeError(f'training failed, see {work_dir}/train.log')
        with open(record, 'w') as f:
            json.dump(dict(train_time=time.time() - start), f)
    with open(record) as f:
        train_time = json.load(f)['train_time']
    return dict(
        checkpoint=checkpoint,
        train_time=train_time,
        iter_time=median_iter_time(log_path),
        curve=learning_curve(log_path),
    )


def evaluate_checkpoint(
    cfg: Config, checkpoint: str, work_dir: str, folds: int = 5
) -> Dict[str, object]:
    """Test metrics of the config's evaluator, the uncertainty report of the predicted σ
    (or of the heatmap's score) and COCO AP with σ-based scores.

    Returns:
        dict: the evaluator's metrics; ``raw/…``, ``temperature/…``, ``power/…``,
        ``predicts_sigma`` and ``curves``
        (:func:`~mmpose_rle.benchmark.uncertainty_eval.uncertainty_report`); and for models
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
    family = getattr(getattr(model.head, 'loss_module', None), 'q_distribution', 'laplace')
    report = uncertainty_report(predictions, family, folds)
    calibrated = report.pop('calibrated_sigmas')
    metrics.update(report)  # with 'curves': the reliability and sparsification curves
    coco = coco_metric_args(cfg.test_evaluator)
    meta = runner.test_dataloader.dataset.metainfo
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
    cfg: Config,
    work_dir: str,
    seed: int,
    epochs: int,
    reuse: bool = False,
    val_interval: Optional[int] = None,
) -> Dict[str, object]:
    """:func:`train_variant` then :func:`evaluate_checkpoint`, recording a failure rather
    than stopping the benchmark.

    Returns:
        dict: the test metrics, ``train_time``, ``iter_time`` (when logged) and ``curve``;
        or ``failed`` (the stage and the error) with what was measured before it. A run whose
        training diverges to NaN without an error is reported with its NaN metrics and
        marked ``failed`` (:func:`mark_divergence`).
    """
    try:
        trained = train_variant(cfg, work_dir, seed, epochs, reuse=reuse, val_interval=val_interval)
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
