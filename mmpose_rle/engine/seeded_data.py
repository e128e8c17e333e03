"""Augmentation that is a pure function of (seed, epoch, sample index).

MMEngine seeds the data-loading workers once, when they start, and saves no random
state: a resumed run re-seeds them and its augmentation differs from the uninterrupted
run's. Here every sample is loaded under its own seed instead:

* :class:`SeededSampler` wraps any epoch-based sampler and yields ``(epoch, index)``;
* :class:`SeededDataset` wraps any data set; for an ``(epoch, index)`` key it seeds
  ``random``, ``numpy`` and ``torch`` from ``SeedSequence([seed, epoch, index])``, runs
  the pipeline and puts the previous generator states back.

So the augmentation of every sample is the same whatever the number of workers,
whether they persist, and whether the run was interrupted and resumed.
:class:`~mmpose_rle.engine.StepSeedHook` sets the seed to the runner's (restored on
resume). ``tools/train.py`` wraps the training data loader automatically.
"""

import random
from typing import Any, Iterator, Tuple, Union

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from mmpose_rle.registry import DATA_SAMPLERS, DATASETS

__all__ = ['SeededSampler', 'SeededDataset', 'wrap_seeded']


@DATA_SAMPLERS.register_module()
class SeededSampler(Sampler):
    """Yield ``(epoch, index)`` pairs from an inner epoch-based sampler.

    Args:
        sampler (dict): Config of the inner sampler (e.g. ``DefaultSampler``).
        dataset: The data set, passed on to the inner sampler.
        seed (int, optional): Passed on to the inner sampler.
    """

    def __init__(self, sampler: dict, dataset: Any, seed: Any = None) -> None:
        self.sampler = DATA_SAMPLERS.build(sampler, default_args=dict(dataset=dataset, seed=seed))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, 'set_epoch'):
            self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        for index in self.sampler:
            yield self.epoch, index

    def __len__(self) -> int:
        return len(self.sampler)


@DATASETS.register_module()
class SeededDataset(Dataset):
    """Load ``(epoch, index)`` keys under a per-sample seed (see the module docstring).

    Args:
        dataset (dict | Dataset): The wrapped data set or its config.
        seed (int): Base seed; :class:`StepSeedHook` sets it to the runner's.

    Every other attribute (``metainfo``, ``full_init`` …) is the wrapped data set's.
    """

    def __init__(self, dataset: Union[dict, Dataset], seed: int = 0) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.seed = seed

    def __getattr__(self, name: str) -> Any:
        if name == 'dataset':  # not yet set (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Union[int, Tuple[int, int]]) -> Any:
        if not isinstance(key, tuple):
            return self.dataset[key]
        epoch, index = key
        states = random.getstate(), np.random.get_state(), torch.get_rng_state()
        seq = np.random.SeedSequence([int(self.seed) % 2**32, int(epoch), int(index)])
        state = seq.generate_state(2)
        random.seed(int(state[0]))
        np.random.seed(int(state[0]))
        torch.manual_seed(int(state[1]))
        try:
            return self.dataset[index]
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])


def wrap_seeded(dataloader_cfg: dict) -> dict:
    """Return a copy of a data-loader config whose data set and sampler are seeded.

    Idempotent: an already wrapped config is returned unchanged.
    """
    cfg = dict(dataloader_cfg)
    if cfg['dataset'].get('type') in ('SeededDataset', 'mmpose_rle.SeededDataset'):
        return cfg
    cfg['dataset'] = dict(type='mmpose_rle.SeededDataset', dataset=cfg['dataset'])
    cfg['sampler'] = dict(
        type='mmpose_rle.SeededSampler',
        sampler=cfg.get('sampler', dict(type='DefaultSampler', shuffle=True)),
    )
    return cfg
