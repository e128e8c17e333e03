from collections import Counter

import pytest
from mmengine.dataset import DefaultSampler

from mmpose_rle.engine import RepeatSampler, SeededSampler
from mmpose_rle.registry import DATA_SAMPLERS


@pytest.mark.parametrize('length, min_samples, times', [(23, 80, 4), (46, 80, 2), (80, 80, 1)])
def test_an_epoch_draws_every_sample_the_same_number_of_times(length, min_samples, times):
    sampler = RepeatSampler(list(range(length)), min_samples=min_samples, seed=0)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == times * length >= min_samples
    assert Counter(drawn) == {i: times for i in range(length)}


def test_a_large_enough_set_is_sampled_exactly_as_mmengines_default():
    data = list(range(93))
    for epoch in (0, 5):
        ours, theirs = RepeatSampler(data, min_samples=80, seed=7), DefaultSampler(data, seed=7)
        ours.set_epoch(epoch)
        theirs.set_epoch(epoch)
        assert list(ours) == list(theirs)


def test_the_order_is_shuffled_per_epoch_and_seeded():
    sampler = RepeatSampler(list(range(10)), min_samples=40, seed=1)
    first = list(sampler)
    assert first == list(RepeatSampler(list(range(10)), min_samples=40, seed=1))
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(RepeatSampler(list(range(10)), 40, shuffle=False)) == list(range(10)) * 4


def test_builds_from_a_config_inside_the_seeded_sampler():
    inner = dict(type='mmpose_rle.RepeatSampler', min_samples=30, shuffle=True)
    sampler = SeededSampler(inner, dataset=list(range(10)), seed=0)
    keys = list(sampler)
    assert len(keys) == 30 and {epoch for epoch, _ in keys} == {0}
    assert Counter(index for _, index in keys) == {i: 3 for i in range(10)}
    built = DATA_SAMPLERS.build(dict(inner, dataset=list(range(10)), seed=0))
    assert isinstance(built, RepeatSampler)


@pytest.mark.parametrize('min_samples', [0, -3, 2.5, True])
def test_refuses_a_bad_minimum(min_samples):
    with pytest.raises(ValueError, match='min_samples'):
        RepeatSampler(list(range(4)), min_samples=min_samples)


def test_refuses_an_empty_data_set():
    with pytest.raises(ValueError, match='empty'):
        RepeatSampler([], min_samples=8)
