"""Interleaved timing: rotated rounds, ratios within rounds."""

import time

import pytest

from mmpose_rle.benchmark import (
    interleaved_times,
    ratio_stats,
)


def test_interleaved_times_rotate_the_order_every_round():
    calls = []
    fns = {n: (lambda n=n: calls.append(n)) for n in 'abc'}
    times = interleaved_times(fns, rounds=3, warmup=0)
    assert calls == list('abcbcacab')
    assert all(len(t) == 3 and min(t) >= 0 for t in times.values())
    with pytest.raises(ValueError, match='rounds'):
        interleaved_times(fns, rounds=0)


def test_interleaved_times_repeat_fast_callables_to_min_time():
    calls = {'fast': 0, 'slow': 0}

    def fast():
        calls['fast'] += 1

    def slow():
        calls['slow'] += 1
        time.sleep(0.02)

    times = interleaved_times(dict(fast=fast, slow=slow), rounds=2, min_time=0.01)
    assert calls['slow'] == 1 + 2  # one warm-up, then one call per round
    assert calls['fast'] > 1 + 2 * 10  # sized to last 10 ms per timing
    assert min(times['slow']) >= 0.02 > max(times['fast'])


def test_ratio_within_rounds_cancels_a_common_drift():
    drift = {'a': [1.0, 2.0, 4.0], 'b': [2.0, 4.0, 8.0]}  # the load doubles every round
    assert ratio_stats(drift, 'b', 'a') == dict(median=2.0, q25=2.0, q75=2.0)
    noisy = {'a': [1.0, 1.0, 1.0, 1.0], 'b': [1.0, 2.0, 3.0, 4.0]}
    assert ratio_stats(noisy, 'b', 'a') == dict(median=2.5, q25=1.75, q75=3.25)
