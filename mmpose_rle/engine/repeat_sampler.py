"""A sampler whose epoch has at least a given number of samples, for small data sets.

An epoch-based schedule written for a hundred images gives a data set of twenty a fifth of
the optimiser steps: 60 epochs of 23 images at batch 16 are 120 steps. On such
data the model is far from converged when the schedule ends, and σ still reflects the
larger errors of the early steps. :class:`RepeatSampler` keeps the schedule in epochs
(learning-rate steps, validation and checkpoint intervals keep their meaning) and draws
every sample ``t`` times per epoch,

    t = max(1, ⌈min_samples / N⌉),

``N`` the data set's length, so an epoch has ``t·N ≥ min_samples`` samples: the set is
repeated within the epoch rather than a longer schedule being written for each size. It is
MMEngine's :class:`~mmengine.dataset.DefaultSampler` over ``t·N`` indices taken modulo
``N`` (shuffling, distributed splitting and ``round_up`` are MMEngine's), so with ``t = 1``
it yields exactly the indices of a ``DefaultSampler`` with the same seed.

Example:
    >>> sampler = RepeatSampler(list(range(23)), min_samples=80, seed=0)
    >>> sampler.times, len(sampler)
    (4, 92)
"""

import math
from typing import Iterator, Optional, Sized

from mmengine.dataset import DefaultSampler

from mmpose_rle.registry import DATA_SAMPLERS

__all__ = ['RepeatSampler']


@DATA_SAMPLERS.register_module()
class RepeatSampler(DefaultSampler):
    """Each epoch draws every sample ``max(1, ⌈min_samples / N⌉)`` times (module docstring).

    Args:
        dataset (Sized): The data set, of length ``N ≥ 1``.
        min_samples (int): The fewest samples an epoch may have, ``≥ 1``.
        shuffle (bool): Shuffle the repeated indices each epoch. Default: True.
        seed (int, optional): Shuffling seed, as ``DefaultSampler``'s. Default: None.
        round_up (bool): As ``DefaultSampler``'s. Default: True.

    Attributes:
        times (int): How often an epoch draws each sample.
    """

    def __init__(
        self,
        dataset: Sized,
        min_samples: int,
        shuffle: bool = True,
        seed: Optional[int] = None,
        round_up: bool = True,
    ) -> None:
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise ValueError(
                f'RepeatSampler: min_samples must be a positive integer, got {min_samples!r}'
            )
        length = len(dataset)
        if length < 1:
            raise ValueError('RepeatSampler: the data set is empty')
        self.source_length = length
        self.times = max(1, math.ceil(min_samples / length))
        super().__init__(range(self.times * length), shuffle=shuffle, seed=seed, round_up=round_up)

    def __iter__(self) -> Iterator[int]:
        """The shuffled indices of the repeated set, as indices of the data set."""
        return (index % self.source_length for index in super().__iter__())
