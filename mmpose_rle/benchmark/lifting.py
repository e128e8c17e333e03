r"""Benchmark 3-D lifting heads on the procedural skeletons: accuracy, σ, size, speed.

One *run* trains one config (MMPose's ``TemporalRegressionHead`` + ``MSELoss`` or our
``RLELiftingHead``, same ``TCN``) on the data of :mod:`mmpose_rle.datasets.synthetic3d`
with the benchmarks' trainer (:func:`~mmpose_rle.benchmark.training.train_variant`, with
:func:`lifting_env`), then tests the checkpoint in-process with MMPose's ``MPJPE`` metric
(``mpjpe``, ``p-mpjpe``, ``n-mpjpe``; the data are in metres, reported here in mm) and, for
a head that predicts ``keypoint_sigmas``, measures the predicted σ against the errors
(:func:`~mmpose_rle.calibration.heldout_report` per coordinate, in mm):

* ``raw`` — the head's σ as predicted;
* ``heldout`` — after a temperature per joint and axis fitted by maximum likelihood on the
  other folds (:func:`~mmpose_rle.calibration.cross_fit`, 5 folds grouped by video, so no
  fold is calibrated on frames of its own videos).

The root joint, whose root-relative position is 0 by construction, is left out of the σ
metrics.
"""

import os
import os.path as osp
import time
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmpose_rle.calibration import UNIT_TO_MM, collect_predictions, heldout_report

from .speed import median_time

__all__ = [
    'UNIT_TO_MM',
    'lifting_env',
    'sigma_report',
    'make_test_runner',
    'evaluate_lifting',
    'lifting_size_and_speed',
]

_SIGMA_KEYS = ('within_1sigma', 'within_2sigma', 'ece', 'sigma_error_spearman')


def lifting_env(data_root: str, threads: int = 1) -> Dict[str, str]:
    """Environment of a lifting run's training process
    (:func:`~mmpose_rle.benchmark.training.train_variant`'s ``env``).

    Args:
        data_root (str): The procedural data (``generate_synthetic_lifting``), read by the
            configs as ``$MMPOSE_RLE_LIFTING_ROOT``.
        threads (int): ``OMP_NUM_THREADS`` (1 is fastest on a shared, small machine: the
            models are small). Default: 1.
    """
    return dict(MMPOSE_RLE_LIFTING_ROOT=str(data_root), OMP_NUM_THREADS=str(threads))


def sigma_report(
    predictions: Dict[str, np.ndarray],
    family: str = 'laplace',
    root_index: int = 0,
    folds: int = 5,
    seed: int = 0,
) -> Dict[str, Dict[str, float]]:
    """σ metrics of the non-root joints, ``raw`` and ``heldout`` (module docstring).

    Args:
        predictions (dict): From :func:`~mmpose_rle.calibration.collect_predictions`
            (with ``sigmas``; mm).
        family (str): Error model of the metrics (the loss's ``q_distribution``).
        root_index (int): The joint left out.
        folds (int): Folds of the cross-fitted temperature.
        seed (int): Seed of the fold assignment.

    Returns:
        dict: ``raw`` and ``heldout`` (the temperature), each
        :func:`~mmpose_rle.evaluation.uncertainty_metrics`' dict
        (:func:`~mmpose_rle.calibration.heldout_report`).
    """
    keep = np.arange(predictions['errors'].shape[1]) != root_index
    e, s = predictions['errors'][:, keep], predictions['sigmas'][:, keep]
    v = predictions['visible'][:, keep]
    metrics, _ = heldout_report(e, s, v, predictions['groups'], family, folds=folds, seed=seed)
    return dict(raw=metrics['raw'], heldout=metrics['temperature'])


def make_test_runner(config: str, checkpoint: str, data_root: str, work_dir: str) -> Runner:
    """A quiet MMEngine runner that tests ``checkpoint`` of ``config`` on ``data_root``
    (no data-loader workers)."""
    os.environ['MMPOSE_RLE_LIFTING_ROOT'] = str(data_root)
    cfg = Config.fromfile(config)
    cfg.work_dir, cfg.load_from = work_dir, checkpoint
    cfg.log_level = 'WARNING'
    cfg.experiment_name = f'test_{osp.basename(work_dir)}_{time.time_ns()}'
    for loader in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        cfg[loader].num_workers, cfg[loader].persistent_workers = 0, False
    return Runner.from_cfg(cfg)


def evaluate_lifting(
    runner: Runner, family: Optional[str] = None
) -> Tuple[Dict[str, float], Dict[str, np.ndarray]]:
    """Test with the config's evaluators and, when the head predicts σ, add
    :func:`sigma_report`'s metrics.

    Args:
        runner (Runner): From :func:`make_test_runner`.
        family (str, optional): Error model of the σ metrics; the loss's ``q_distribution``
            when None.

    Returns:
        tuple: the metrics — ``mpjpe``, ``p_mpjpe``, ``n_mpjpe`` (mm, MMPose's metric)
        and, with σ, ``{raw,heldout}_{within_1sigma,within_2sigma,ece,
        sigma_error_spearman}`` and ``nominal_{1,2}sigma`` — and the predictions of
        :func:`~mmpose_rle.calibration.collect_predictions` (mm).
    """
    metrics = runner.test()
    result = {
        key.lower().replace('-', '_'): float(metrics[key]) * UNIT_TO_MM
        for key in ('MPJPE', 'P-MPJPE', 'N-MPJPE')
        if key in metrics
    }
    predictions = collect_predictions(runner.model, runner.test_dataloader)
    if 'sigmas' in predictions:
        root = getattr(runner.model.head.decoder, 'root_index', [0])[0]
        family = family or getattr(runner.model.head, 'q_distribution', 'laplace')
        report = sigma_report(predictions, family=family, root_index=root)
        for name in ('raw', 'heldout'):
            result.update({f'{name}_{k}': report[name][k] for k in _SIGMA_KEYS})
        result.update({f'nominal_{k}sigma': report['raw'][f'nominal_{k}sigma'] for k in (1, 2)})
    return result, predictions


def lifting_size_and_speed(
    model: torch.nn.Module, predict_batch: dict, train_batch: dict, repeats: int = 7
) -> Dict[str, Optional[float]]:
    """Parameters and CPU speed of a lifting model.

    Args:
        model (nn.Module): The lifting model.
        predict_batch (dict): A collated batch timed through ``test_step``.
        train_batch (dict): A collated batch timed through a training step.
        repeats (int): Timings per measurement (their median is reported).

    Returns:
        dict: ``params`` and ``head_params`` (millions), ``predict_ms`` (``test_step``:
        backbone, head, decoding; per ``predict_batch``) and ``train_ms`` (loss forward
        and backward of the whole model; per ``train_batch``), medians of ``repeats``
        timings.
    """
    model.eval()
    predict_ms = 1e3 * median_time(lambda: model.test_step(predict_batch), repeats=repeats)
    model.train()
    data = model.data_preprocessor(train_batch, True)

    def step() -> None:
        losses = model(**data, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()

    train_ms = 1e3 * median_time(step, repeats=repeats)
    model.zero_grad(set_to_none=True)
    return dict(
        params=sum(p.numel() for p in model.parameters()) / 1e6,
        head_params=sum(p.numel() for p in model.head.parameters()) / 1e6,
        predict_ms=predict_ms,
        train_ms=train_ms,
    )
