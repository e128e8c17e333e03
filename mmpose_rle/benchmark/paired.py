"""Interleaved ("paired") timing of several models, for speed *ratios* on a noisy machine.

Timing the variants one after another lets the load of a shared machine drift between
them. Instead, every round times each entry once, in an order rotated from round to
round, and the ratio of two entries is formed **within** each round::

    r_AB(i) = t_B(i) / t_A(i)        (throughput of A over B in round i)

The reported ratio is the median of ``r_AB`` over the rounds, with its interquartile range
``[q25, q75]``: a drift that slows both entries of a round cancels in the ratio.

Entries are the models in tensor mode (preprocessed batch → head outputs), in predict mode
(``test_step``: preprocessing, head, decoding; no flip), the ``backbone+neck`` lower bound
(``extract_feat`` of one model: a one-FC head can only add to it), and the training-side
cost of each head: ``head.loss`` forward and backward on fixed features (the head, the flow
and the loss).
"""

import math
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from .speed import head_step, packed_batch

__all__ = ['interleaved_times', 'ratio_stats', 'paired_speed', 'FEATURES']

FEATURES = 'backbone+neck'


def interleaved_times(
    fns: Dict[str, Callable[[], object]], rounds: int, warmup: int = 1, min_time: float = 0.0
) -> Dict[str, List[float]]:
    """Time every ``fns[name]()`` once per round, rotating the order every round.

    Args:
        fns: Callables to time, by name.
        rounds: Number of rounds ``R``.
        warmup: Untimed calls of each callable before the first round (at least 1
            when ``min_time`` is set: the last one is timed to size the inner loop).
        min_time: A fast callable is called ``n = ceil(min_time / t_warmup)`` times
            per timing and the mean is recorded, so that each timing lasts about
            ``min_time`` seconds; 0 calls every callable once.

    Returns:
        dict: For every name, the ``R`` per-call times in seconds, in round order.
    """
    if rounds < 1:
        raise ValueError(f'rounds must be >= 1, got {rounds}')
    names = list(fns)
    inner = dict.fromkeys(names, 1)
    for name in names:
        for _ in range(max(warmup, 1 if min_time > 0 else 0)):
            start = time.perf_counter()
            fns[name]()
            elapsed = time.perf_counter() - start
        if min_time > 0:
            inner[name] = max(1, math.ceil(min_time / max(elapsed, 1e-9)))
    times: Dict[str, List[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            for _ in range(inner[name]):
                fns[name]()
            times[name].append((time.perf_counter() - start) / inner[name])
    return times


def ratio_stats(times: Dict[str, List[float]], num: str, den: str) -> Dict[str, float]:
    """Median and quartiles over rounds of ``times[num][i] / times[den][i]``."""
    ratio = np.asarray(times[num]) / np.asarray(times[den])
    q25, median, q75 = np.percentile(ratio, [25, 50, 75])
    return dict(median=float(median), q25=float(q25), q75=float(q75))


def _all_ratios(times: Dict[str, List[float]]) -> Dict[str, Dict[str, Dict[str, float]]]:
    """``out[a][b]``: throughput of ``a`` over ``b`` (= time of b / time of a)."""
    return {a: {b: ratio_stats(times, b, a) for b in times if b != a} for a in times}


def _summary(times: Dict[str, List[float]]) -> dict:
    """``seconds`` (median per entry) and ``throughput_ratio`` (:func:`_all_ratios`)."""
    return dict(
        seconds={n: float(np.median(t)) for n, t in times.items()},
        throughput_ratio=_all_ratios(times),
    )


@torch.no_grad()
def _inference(
    models: Dict[str, nn.Module], features_of: str, data: dict, rounds: int
) -> Dict[str, dict]:
    """:func:`_summary` of the ``tensor`` and ``predict`` timings, each with the
    ``backbone+neck`` entry, the flip test off (restored after)."""
    flips = {n: m.test_cfg.get('flip_test', False) for n, m in models.items()}
    for model in models.values():
        model.eval()
        model.test_cfg['flip_test'] = False
    features = models[features_of]
    inputs = features.data_preprocessor(data, False)['inputs']
    tensor = {n: (lambda m=m: m(inputs, None, mode='tensor')) for n, m in models.items()}
    tensor[FEATURES] = lambda: features.extract_feat(inputs)
    predict = {n: (lambda m=m: m.test_step(data)) for n, m in models.items()}
    predict[FEATURES] = lambda: features.extract_feat(
        features.data_preprocessor(data, False)['inputs']
    )
    out = {
        mode: _summary(interleaved_times(fns, rounds))
        for mode, fns in (
            ('tensor', tensor),
            ('predict', predict),
        )
    }
    for name, model in models.items():
        model.test_cfg['flip_test'] = flips[name]
    return out


def paired_speed(
    models: Dict[str, nn.Module],
    input_size,
    num_keypoints: int,
    batch_size: int = 8,
    rounds: int = 10,
    train_batch: int = 16,
    head_rounds: Optional[int] = None,
    head_min_time: float = 0.05,
    features_of: Optional[str] = None,
) -> dict:
    """Interleaved timing of ``models`` (see the module docstring).

    Args:
        models: Top-down pose estimators by variant name, all on the same backbone.
        input_size: ``(w, h)`` of the input.
        num_keypoints: ``K``.
        batch_size: Batch of the inference timings. Default: 8.
        rounds: Rounds ``R`` of every timing.
        train_batch: Batch of the head training step.
        head_rounds: Rounds of the head step; default ``3 · rounds`` (it is cheap,
            except for the heatmap head).
        head_min_time: ``min_time`` of :func:`interleaved_times` for the head step
            (a regression head's step takes milliseconds).
        features_of: Model whose ``extract_feat`` is the ``backbone+neck`` entry;
            default the first model with a neck.

    Returns:
        dict: ``batch_size``, ``rounds``, and for each of ``tensor``, ``predict``
        (inference, batch ``batch_size``) and ``head_step`` (training, batch
        ``train_batch``): ``seconds`` (median per entry) and ``throughput_ratio``
        (``[a][b]``: median over rounds of ``t_b / t_a`` with quartiles). ``tensor`` and
        ``predict`` also hold the ``backbone+neck`` entry.
    """
    if not models:
        raise ValueError('paired_speed needs at least one model')
    if features_of is None:
        features_of = next((n for n, m in models.items() if m.with_neck), next(iter(models)))
    head_rounds = head_rounds or 3 * rounds
    result: dict = dict(
        batch_size=batch_size, rounds=rounds, features_of=features_of, head_rounds=head_rounds
    )
    data = packed_batch(batch_size, input_size, num_keypoints)
    result.update(_inference(models, features_of, data, rounds))
    for model in models.values():
        model.train()
    train_data = packed_batch(train_batch, input_size, num_keypoints)
    steps = {n: head_step(m, m.data_preprocessor(train_data, True)) for n, m in models.items()}
    result['head_step'] = _summary(interleaved_times(steps, head_rounds, min_time=head_min_time))
    for model in models.values():
        model.eval()
    return result
