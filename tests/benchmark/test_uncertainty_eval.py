"""The benchmark's σ report: raw, calibrated on held-out folds, and the heatmap's score as σ."""

import numpy as np

from mmpose_rle.benchmark import (
    CALIBRATIONS,
    uncertainty_report,
)


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
