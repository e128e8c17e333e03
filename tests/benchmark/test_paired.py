"""Interleaved timing: rotated rounds, ratios within rounds."""

import time

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_rle.benchmark import interleaved_times, make_variant, paired_speed, ratio_stats
from mmpose_rle.benchmark.paired import FEATURES
from tests.helpers import QUICKSTART_CONFIG


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


def test_paired_speed_of_two_models():
    """Ratios of odd rounds are reciprocal (the median of t_b/t_a is 1 over the median of
    t_a/t_b); the backbone+neck entry comes from the model with a neck; flip test and mode
    are restored."""
    init_default_scope('mmpose')
    base = Config.fromfile(str(QUICKSTART_CONFIG))
    models = {n: MODELS.build(make_variant(base, n).model) for n in ('heatmap', 'rle')}
    for model in models.values():
        model.test_cfg['flip_test'] = True
    paired = paired_speed(models, (64, 64), 11, batch_size=2, rounds=3, train_batch=2)
    assert paired['features_of'] == 'rle' and paired['head_rounds'] == 9
    for mode in ('tensor', 'predict'):
        assert set(paired[mode]['seconds']) == {'heatmap', 'rle', FEATURES}
        ratios = paired[mode]['throughput_ratio']
        assert ratios['rle']['heatmap']['median'] == pytest.approx(
            1 / ratios['heatmap']['rle']['median']
        )
    assert set(paired['head_step']['seconds']) == {'heatmap', 'rle'}
    assert all(m.test_cfg['flip_test'] is True and not m.training for m in models.values())
