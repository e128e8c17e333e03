"""Train one run of a benchmark, 2-D or 3-D: ``python -m mmpose_rle.cli.train`` in a
subprocess (a fresh process per run, exactly what a user runs; it works from a wheel too).

Besides the wall time of a run (``train_time``, which includes data loading, validation
and start-up), :func:`median_iter_time` reads the per-iteration ``time`` of MMEngine's
training log, the cost of one step that runs of different lengths can be compared by, and
:func:`~mmpose_rle.benchmark.curves.learning_curve` its validations.
"""

import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from typing import Dict, Optional, Union

import numpy as np
from mmengine.config import Config

from .curves import learning_curve

__all__ = ['train_variant', 'median_iter_time']

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


def _run_training(
    cfg: Union[Config, str],
    work_dir: str,
    options: list,
    env: Optional[dict],
) -> None:
    """``python -m mmpose_rle.cli.train`` with its output in ``{work_dir}/train.log``
    (:func:`train_variant`)."""
    config_path = cfg
    if isinstance(cfg, Config):
        config_path = osp.join(work_dir, 'config.py')
        cfg.dump(config_path)
    cmd = [sys.executable, '-m', 'mmpose_rle.cli.train', config_path, '--work-dir', work_dir]
    full_env = None if env is None else dict(os.environ, **env)
    with open(osp.join(work_dir, 'train.log'), 'w') as log:
        proc = subprocess.run(
            cmd + ['--cfg-options', *options], env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
    if proc.returncode != 0:
        raise RuntimeError(f'training failed, see {work_dir}/train.log')


def train_variant(
    cfg: Union[Config, str],
    work_dir: str,
    seed: int,
    epochs: int,
    reuse: bool = False,
    val_interval: Optional[int] = None,
    env: Optional[Dict[str, str]] = None,
) -> Dict[str, object]:
    """Train ``cfg`` for ``epochs`` with ``seed``, validating every ``val_interval`` epochs
    (only at the end when None).

    Args:
        cfg (Config | str): The config, written to ``{work_dir}/config.py``, or the path of
            a config file, trained as it is.
        work_dir (str): Where the run writes (``epoch_{epochs}.pth``, ``train.log``,
            ``train_time.json``).
        seed (int): ``randomness.seed``.
        epochs (int): ``train_cfg.max_epochs``, also the checkpoint interval.
        reuse (bool): A run whose checkpoint and ``train_time.json`` are already in
            ``work_dir`` is not trained again (an interrupted benchmark continues).
            Default: False.
        val_interval (int, optional): ``train_cfg.val_interval``; ``epochs`` when None.
        env (dict, optional): Environment variables set for the training process on top of
            this one's (e.g. the data root a config reads). Default: None.

    Returns:
        dict: ``checkpoint`` (path), ``train_time`` (wall time of the training process, s),
        ``iter_time`` (median seconds per iteration from its log, or None) and ``curve``
        (the validations of the log, :func:`~mmpose_rle.benchmark.curves.learning_curve`).

    Raises:
        RuntimeError: The training process failed (its log says why).
    """
    os.makedirs(work_dir, exist_ok=True)
    checkpoint = osp.join(work_dir, f'epoch_{epochs}.pth')
    record = osp.join(work_dir, 'train_time.json')
    log_path = osp.join(work_dir, 'train.log')
    if not (reuse and osp.exists(checkpoint) and osp.exists(record)):
        options = [
            f'randomness.seed={seed}',
            f'train_cfg.max_epochs={epochs}',
            f'train_cfg.val_interval={val_interval or epochs}',
            f'default_hooks.checkpoint.interval={epochs}',
        ]
        start = time.time()
        _run_training(cfg, work_dir, options, env)
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
