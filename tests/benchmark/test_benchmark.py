"""The benchmark: variants, calibration maths, and a smoke run of the command."""

import json
import time

import numpy as np
import pytest
from mmengine.config import Config

from mmpose_rle.benchmark import (
    CALIBRATIONS,
    interleaved_times,
    make_variant,
    mark_divergence,
    markdown,
    ratio_stats,
    summarise,
    uncertainty_report,
)
from tests.helpers import QUICKSTART_CONFIG, TINY_OPTIONS, run_tool


@pytest.fixture(scope='module')
def base():
    return Config.fromfile(str(QUICKSTART_CONFIG))


@pytest.mark.parametrize(
    'name, head, encoder',
    [
        ('rle', 'mmpose_rle.RLEHead', 'RegressionLabel'),
        ('mmpose_rle', 'RLEHead', 'RegressionLabel'),
        ('heatmap', 'HeatmapHead', 'MSRAHeatmap'),
        ('l1', 'RegressionHead', 'RegressionLabel'),
    ],
)
def test_variants_swap_only_head_neck_and_target(base, name, head, encoder):
    cfg = make_variant(base, name)
    assert cfg.model.head.type == head
    assert cfg.model.backbone == base.model.backbone
    encoders = [
        t.encoder.type for t in cfg.train_dataloader.dataset.pipeline if t.type == 'GenerateTarget'
    ]
    assert encoders == [encoder]
    assert ('neck' in cfg.model) == (name != 'heatmap')
    assert base.model.head.type == 'mmpose_rle.RLEHead'  # the base is not modified


def test_variant_losses(base):
    assert make_variant(base, 'reparam').model.head.loss.design == 'reparam'
    official = make_variant(base, 'official').model.head
    assert official.type == 'mmpose_rle.OfficialRLEHead'
    assert official.loss.formulation == 'official'
    with pytest.raises(ValueError, match='unknown variant'):
        make_variant(base, 'nope')


def predictions(n=600, k=2, scale=3.0, seed=0, with_sigmas=True):
    """Errors drawn with RMS ``scale`` times the predicted σ; heatmap-like scores 1/σ."""
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.01, 0.05, size=(n, k, 2))
    errors = rng.laplace(scale=scale * sigma / np.sqrt(2))
    out = dict(
        errors=errors,
        visible=np.ones((n, k), bool),
        groups=np.arange(n) // 3,
        scores=1 / sigma.mean(-1),
    )
    if with_sigmas:
        out['sigmas'] = sigma
    return out


def test_uncertainty_report_calibrates_on_held_out_folds():
    report = uncertainty_report(predictions())
    assert report['raw/within_1sigma'] < 0.45  # σ three times too small
    for kind in CALIBRATIONS:
        assert abs(report[f'{kind}/within_1sigma'] - report[f'{kind}/nominal_1sigma']) < 0.04
        assert report[f'{kind}/nll'] < report['raw/nll']
    assert report['calibrated_sigmas']['temperature'].shape == (600, 2, 2)


def test_heatmap_scores_are_turned_into_a_calibrated_sigma():
    """Without σ, 1/score is the raw uncertainty; here it ranks the errors as σ did."""
    with_sigma = uncertainty_report(predictions())
    from_scores = uncertainty_report(predictions(with_sigmas=False))
    assert abs(from_scores['power/within_2sigma'] - from_scores['power/nominal_2sigma']) < 0.04
    assert from_scores['power/sigma_error_spearman'] > 0.2
    assert with_sigma['raw/sigma_error_spearman'] > 0.2


def test_summary_and_markdown():
    stats = summarise([dict(PCK=0.5, EPE=np.float32(3.0)), dict(PCK=0.7, EPE=1.0)])
    assert stats['EPE']['mean'] == 2.0  # NumPy scalars count (MMPose's EPE is one)
    assert stats['PCK'] == dict(mean=0.6, std=pytest.approx(0.1), n=2)
    table = markdown({'rle': dict(accuracy=stats)})
    assert '| rle | 0.600 ± 0.100 |' in table and '2 seed(s)' in table
    speed = dict(params=23.7, latency_b1=0.0125, throughput_b32=8.0)
    table = markdown({'rle': dict(speed=speed), 'l1': dict(speed=dict(throughput_b32=10.0))})
    assert '| params (M) | ms b1 | img/s b32 |' in table  # only the measured columns
    assert '| rle | 23.70 | 12.5 | 8.0 | 1.00× |' in table  # latency in ms
    assert '| l1 | — | — | 10.0 | 1.25× |' in table


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


def test_benchmark_command_smoke(tiny_figures, tmp_path):
    out = tmp_path / 'bench'
    run_tool(
        [
            'tools/benchmark.py',
            str(QUICKSTART_CONFIG),
            '--variants',
            'rle',
            'heatmap',
            '--batch-sizes',
            '1',
            '2',
            '--repeats',
            '1',
            '--paired-rounds',
            '2',
            '--paired-batch',
            '2',
            '--train',
            '--epochs',
            '1',
            '--seeds',
            '0',
            '--out-dir',
            str(out),
            '--cfg-options',
            *[o for o in TINY_OPTIONS if 'checkpoint' not in o],
        ],
        env={'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)},
    )
    report = json.loads((out / 'results.json').read_text())
    results = report['results']
    assert set(results) == {'rle', 'heatmap'}
    for name in results:
        speed = results[name]['speed']
        for key in (
            'params',
            'flops',
            'throughput_b1',
            'throughput_b2_flip',
            'train_step',
            'head_share',
            'memory_mb',
        ):
            assert speed[key] > 0, (name, key)
        acc = results[name]['accuracy']
        assert {'PCK', 'AUC', 'EPE', 'coco/AP', 'train_time', 'iter_time'} <= set(acc)
        assert 0 < acc['iter_time']['mean'] < acc['train_time']['mean']
    rle, heatmap = results['rle']['accuracy'], results['heatmap']['accuracy']
    assert rle['predicts_sigma']['mean'] == 1 and heatmap['predicts_sigma']['mean'] == 0
    for key in ('raw/within_2sigma', 'temperature/ece', 'power/nll', 'temperature/ause'):
        assert key in rle and key in heatmap  # the heatmap's from 1/score
    assert 'sigma_score/coco/AP' in rle and 'sigma_score/coco/AP' not in heatmap
    assert 'sigma_score/oks_spearman' in rle and 'sigma_score/oks_spearman' not in heatmap
    for acc in (rle, heatmap):  # one figure per image: ranking by true OKS is the best ranking
        assert 'score/oks_spearman' in acc
        assert acc['oracle_score/coco/AP']['mean'] >= acc['coco/AP']['mean'] - 1e-9
    curves = results['rle']['uncertainty_curves'][0]
    assert len(curves['reliability']['nominal']) == len(curves['reliability']['raw']) == 9
    for name in (
        'accuracy.png',
        'accuracy_vs_throughput.png',
        'reliability.png',
        'sparsification.png',
    ):
        assert (out / name).stat().st_size > 0, name
    assert 'cal. within 1σ' in (out / 'results.md').read_text()
    assert results['heatmap']['speed']['params'] > results['rle']['speed']['params']
    paired = report['paired']
    for mode in ('tensor', 'predict'):
        assert set(paired[mode]['seconds']) == {'rle', 'heatmap', 'backbone+neck'}
        ratio = paired[mode]['throughput_ratio']['rle']['backbone+neck']
        assert 0 < ratio['q25'] <= ratio['median'] <= ratio['q75']
    assert set(paired['head_step']['seconds']) == {'rle', 'heatmap'}
    table = (out / 'results.md').read_text()
    assert table.startswith('Generated by `python tools/benchmark.py') and '| heatmap |' in table
    assert 'tensor: throughput vs backbone+neck' in table and 'head step speed vs heatmap' in table
    assert (out / 'accuracy_vs_throughput.png').stat().st_size > 1000


def test_a_diverged_run_is_failed_and_loses_its_perfect_coco_ap():
    """MMPose's COCO evaluation scores NaN keypoints as perfect (AP 1.0): seen with DSNT."""
    run = mark_divergence({'PCK': 0.0, 'EPE': float('nan'), 'coco/AP': 1.0, 'coco/AR': 1.0})
    assert 'diverged' in run['failed'] and np.isnan(run['coco/AP']) and np.isnan(run['coco/AR'])
    fine = mark_divergence({'PCK': 0.9, 'EPE': 3.0, 'coco/AP': 0.8})
    assert 'failed' not in fine and fine['coco/AP'] == 0.8
