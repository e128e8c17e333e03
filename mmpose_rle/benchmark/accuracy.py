"""Train a variant for a budget and evaluate accuracy and the calibration of σ.

Training runs ``python -m mmpose_rle.cli.train`` in a subprocess (a fresh process per run,
exactly what a user runs; it works from a wheel too); evaluation runs the test loop
in-process and adds the calibration of the predicted σ, which neither reference measures:

* ``within_{1,2,3}sigma``: the share of visible coordinates whose error ``|x̂ − x|`` is at
  most ``k·σ`` (σ = ``keypoint_sigmas`` in image pixels). A Laplace error of RMS σ
  falls within 1/2/3 σ with probability 0.76 / 0.94 / 0.99, a Gaussian 0.68 / 0.95 /
  0.997;
* ``sigma_error_spearman``: the rank correlation between σ and the error over all
  visible coordinates (higher: σ ranks the errors better).

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
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import Config
from scipy.stats import spearmanr

from mmpose_rle.apis import sigmas_in_image
from mmpose_rle.engine import CPUAwareRunner

__all__ = ['train_variant', 'evaluate_checkpoint', 'calibration', 'median_iter_time']

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
    cfg: Config, work_dir: str, seed: int, epochs: int, reuse: bool = False
) -> Dict[str, object]:
    """Train ``cfg`` for ``epochs`` with ``seed``.

    Returns:
        dict: ``checkpoint`` (path), ``train_time`` (wall time of the training process, s)
        and ``iter_time`` (median seconds per iteration from its log, or None).

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
            f'train_cfg.val_interval={epochs}',
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
    return dict(checkpoint=checkpoint, train_time=train_time, iter_time=median_iter_time(log_path))


def calibration(errors: np.ndarray, sigmas: np.ndarray) -> Dict[str, float]:
    """Calibration of σ over coordinates (see the module docstring).

    Args:
        errors (np.ndarray): ``(M,)`` absolute errors per coordinate, pixels.
        sigmas (np.ndarray): ``(M,)`` predicted σ for the same coordinates, pixels.
    """
    out = {f'within_{k}sigma': float(np.mean(errors <= k * sigmas)) for k in (1, 2, 3)}
    out['sigma_error_spearman'] = float(spearmanr(sigmas, errors).statistic)
    return out


def evaluate_checkpoint(cfg: Config, checkpoint: str, work_dir: str) -> Dict[str, float]:
    """Test metrics of the config's evaluator, plus calibration when σ is predicted."""
    cfg = cfg.copy()
    cfg.load_from, cfg.work_dir = checkpoint, work_dir
    runner = CPUAwareRunner.from_cfg(cfg)
    metrics = dict(runner.test())
    model = runner.model.eval()
    errors: List[np.ndarray] = []
    sigmas: List[np.ndarray] = []
    for batch in runner.test_dataloader:
        for sample in model.test_step(batch):
            pred = sample.pred_instances
            if 'keypoint_sigmas' not in pred:
                return metrics
            gt = sample.gt_instances
            visible = np.asarray(gt.keypoints_visible).reshape(-1) > 0
            err = np.abs(np.asarray(pred.keypoints) - np.asarray(gt.keypoints)).reshape(-1, 2)
            errors.append(err[visible].reshape(-1))
            sigmas.append(sigmas_in_image(sample).reshape(-1, 2)[visible].reshape(-1))
    metrics.update(calibration(np.concatenate(errors), np.concatenate(sigmas)))
    return metrics
