"""The benchmark's σ report: raw, calibrated on held-out folds, and the heatmap's score as σ."""

import math

import numpy as np
import pytest
import torch

from mmpose_rle.benchmark import CALIBRATIONS, uncertainty_report
from mmpose_rle.benchmark.uncertainty_eval import coco_metric_args, model_coverage
from mmpose_rle.models.flows import RealNVP
from mmpose_rle.models.losses.rle_predictive import RLEPredictive
from tests.helpers import randomise_


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


def test_the_shared_power_map_gives_every_keypoint_the_same_map():
    """Keypoint 1 repeats keypoint 0's σ with errors 4 times smaller: the per-keypoint
    maps tell them apart, the shared one maps equal σ to equal calibrated σ."""
    data = predictions(k=1)
    data['sigmas'] = np.repeat(data['sigmas'], 2, axis=1)
    data['errors'] = np.concatenate([data['errors'], data['errors'] / 4], axis=1)
    data['visible'] = np.ones((600, 2), bool)
    calibrated = uncertainty_report(data)['calibrated_sigmas']
    np.testing.assert_allclose(calibrated['power_shared'][:, 0], calibrated['power_shared'][:, 1])
    ratio = calibrated['power'][:, 0] / calibrated['power'][:, 1]
    assert np.all(ratio > 2.5), 'the per-keypoint map should see keypoint 0 four times wider'


def test_heatmap_scores_are_turned_into_a_calibrated_sigma():
    """Without σ, 1/score is the raw uncertainty; here it ranks the errors as σ did."""
    with_sigma = uncertainty_report(predictions())
    from_scores = uncertainty_report(predictions(with_sigmas=False))
    assert abs(from_scores['power/within_2sigma'] - from_scores['power/nominal_2sigma']) < 0.04
    assert from_scores['power/sigma_error_spearman'] > 0.2
    assert with_sigma['raw/sigma_error_spearman'] > 0.2


def test_reliability_of_errors_at_a_fixed_multiple_of_sigma():
    """|e| = 0.45 σ: inside the Laplace interval of level p iff 0.45 ≤ −log(1 − p)/√2, i.e.
    p ≥ 0.471 (raw); after the temperature (σ' = 0.45√2 σ) iff p ≥ 1 − 1/e = 0.632."""
    rng = np.random.default_rng(0)
    sigmas = rng.uniform(0.01, 0.05, size=(200, 2, 2))
    errors = 0.45 * sigmas * rng.choice([-1.0, 1.0], size=sigmas.shape)
    report = uncertainty_report(
        dict(
            errors=errors,
            sigmas=sigmas,
            visible=np.ones((200, 2), bool),
            groups=np.arange(200),
            scores=np.ones((200, 2)),
        )
    )
    reliability = report['curves']['reliability']
    np.testing.assert_allclose(reliability['nominal'], np.arange(1, 10) / 10)
    assert reliability['raw'] == [0.0] * 4 + [1.0] * 5
    assert reliability['temperature'] == [0.0] * 6 + [1.0] * 3
    assert report['temperature/within_1sigma'] == 1.0 and report['predicts_sigma'] == 1.0
    assert report['temperature/nominal_1sigma'] == pytest.approx(1 - math.exp(-math.sqrt(2)))


def test_the_coco_metric_of_an_evaluator():
    coco = dict(type='CocoMetric', ann_file='a.json')
    assert coco_metric_args(coco) == coco
    assert coco_metric_args([dict(type='PCKAccuracy'), dict(coco, type='mmpose.CocoMetric')]) == (
        dict(coco, type='mmpose.CocoMetric')
    )
    assert coco_metric_args([dict(type='PCKAccuracy'), dict(type='AUC')]) is None


class _Head:
    def __init__(self, model=None):
        if model is not None:
            self.predictive_model = model


def test_model_coverage_is_the_fitted_flows_own_coverage_at_its_rms():
    flow = randomise_(RealNVP(), std=0.3, seed=3).eval()
    got = model_coverage(_Head(RLEPredictive(flow)), ks=(1, 2))
    torch.manual_seed(0)
    with torch.no_grad():
        x = flow.sample(200_000)  # plain Monte Carlo draws of G
    rms = x.pow(2).mean(0).sqrt()
    for k in (1, 2):
        expected = (x.abs() <= k * rms).float().mean(0).mean().item()
        assert got[f'model/nominal_{k}sigma'] == pytest.approx(expected, abs=0.01)
    assert abs(got['model/nominal_1sigma'] - math.erf(1 / math.sqrt(2))) > 0.01  # not N(0, 1)


def test_model_coverage_is_empty_without_a_flow_and_in_the_basic_design():
    assert model_coverage(_Head()) == {}
    assert model_coverage(_Head(RLEPredictive())) == {}
    basic = RLEPredictive(RealNVP().eval(), design='basic')
    assert model_coverage(_Head(basic)) == {}
