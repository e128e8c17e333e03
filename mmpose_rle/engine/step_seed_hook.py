"""Seed every training step from (seed, iteration): exact resumes on every rank.

MMEngine seeds the global random generators once, when the runner starts, and a
checkpoint keeps no random state. A resumed run therefore draws different dropout masks,
drop-path decisions and batch augmentations than the uninterrupted run, and anything that
draws between two steps — creating the validation loader's iterator draws a base seed,
for instance — shifts the stream too. :class:`StepSeedHook` makes the stream of every step
a pure function of the run's seed and the global iteration: before each training step it
seeds Python's ``random``, NumPy and torch (CPU and every CUDA device) from
``SeedSequence([seed, iteration])``, where ``seed`` is the runner's (MMEngine adds the rank
to it when ``randomness.diff_rank_seed`` is set, so every rank gets its own stream then,
and the same stream otherwise, as MMEngine's own seeding gives). Nothing needs saving:
a resumed run, on any rank, with or without validation in between, draws exactly what the
uninterrupted run drew. Data augmentation is seeded per sample by
:class:`~mmpose_rle.engine.SeededDataset`, whose seed this hook also sets.
"""

import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmpose_rle.registry import HOOKS

from .seeded_data import SeededDataset

__all__ = ['StepSeedHook', 'seed_everything']


def seed_everything(seed: int, iteration: int) -> None:
    """Seed ``random``, NumPy and torch (all devices) from ``SeedSequence([seed,
    iteration])``."""
    state = np.random.SeedSequence([int(seed) % 2**32, int(iteration)]).generate_state(2)
    random.seed(int(state[0]))
    np.random.seed(int(state[0]))
    torch.manual_seed(int(state[1]))  # seeds the CUDA generators too


@HOOKS.register_module()
class StepSeedHook(Hook):
    """Seed the global generators before every training step (module docstring)."""

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if isinstance(dataset, SeededDataset):
            dataset.seed = runner.seed

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        seed_everything(runner.seed, runner.iter)
