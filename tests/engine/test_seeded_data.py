"""Per-sample seeding: augmentation depends on (seed, epoch, index) only."""

import random

import numpy as np
import torch
from torch.utils.data import Dataset

from mmpose_rle.engine import SeededDataset, SeededSampler, wrap_seeded


class _RandomDataset(Dataset):
    metainfo = dict(name='random')

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return (index, random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_same_key_same_sample_and_global_state_untouched():
    ds = SeededDataset(_RandomDataset(), seed=7)
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    a, b = ds[(2, 3)], ds[(2, 3)]
    assert a == b
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    assert ds[(3, 3)] != a and ds[(2, 2)][1:] != a[1:]
    assert SeededDataset(_RandomDataset(), seed=8)[(2, 3)] != a
    assert ds.metainfo == dict(name='random') and len(ds) == 4
    assert isinstance(ds[1][1], float)  # plain indices pass through unseeded


def test_sampler_yields_epoch_and_index():
    sampler = SeededSampler(
        dict(type='DefaultSampler', shuffle=True), dataset=_RandomDataset(), seed=0
    )
    sampler.set_epoch(5)
    keys = list(sampler)
    assert len(keys) == len(sampler) == 4
    assert {e for e, _ in keys} == {5} and sorted(i for _, i in keys) == [0, 1, 2, 3]


def test_wrap_seeded_is_idempotent():
    cfg = dict(
        batch_size=2,
        dataset=dict(type='CocoDataset'),
        sampler=dict(type='DefaultSampler', shuffle=True),
    )
    once = wrap_seeded(cfg)
    assert once['dataset']['dataset'] == cfg['dataset']
    assert once['sampler']['sampler'] == cfg['sampler']
    assert wrap_seeded(once) == once
