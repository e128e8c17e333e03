"""Train on a fraction of the training split: how σ and accuracy depend on data size."""

import copy

import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS

__all__ = ['subset_training_set']


def subset_training_set(cfg: Config, fraction: float, seed: int) -> Config:
    """A copy of ``cfg`` whose training set keeps a random ``fraction`` of its samples.

    The subset is ``round(fraction · N)`` samples (at least one) drawn without replacement
    with ``seed``, through MMEngine's ``indices`` argument of the data set; everything else
    (epochs, schedule, validation, sampler) stays as configured, so the subset gets the
    iterations a user's data set of that size would: fewer with MMEngine's
    ``DefaultSampler``, at least ``min_samples`` per epoch with
    :class:`~mmpose_rle.engine.RepeatSampler` (the own-data configs').

    Args:
        cfg (Config): A config with ``train_dataloader.dataset``.
        fraction (float): Share of the training samples, ``0 < fraction ≤ 1``.
        seed (int): Seed of the draw.

    Returns:
        Config: The new config (``cfg`` itself when ``fraction`` is 1).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction}')
    if fraction == 1:
        return cfg
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    dataset_cfg.pop('indices', None)
    dataset_cfg['pipeline'] = []
    init_default_scope(cfg.get('default_scope', 'mmpose'))
    total = len(DATASETS.build(dataset_cfg))
    keep = max(1, int(round(fraction * total)))
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=keep, replace=False))
    out = copy.deepcopy(cfg)
    out.train_dataloader.dataset.indices = [int(i) for i in chosen]
    return out
