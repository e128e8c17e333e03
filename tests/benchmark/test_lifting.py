"""The lifting benchmark: σ metrics against closed forms of a Laplace error, the environment
of its training runs and its evaluation of a checkpoint."""

import math

import numpy as np
import pytest

from mmpose_rle.benchmark.lifting import sigma_report


def _laplace_predictions(n: int = 4000, k: int = 5, rms_ratio: float = 2.0, seed: int = 0):
    """Errors drawn from a Laplace of RMS ``rms_ratio · σ`` for each coordinate; the root
    (joint 0) has zero σ and a huge error, which the report must leave out."""
    rng = np.random.default_rng(seed)
    sigmas = rng.uniform(5, 50, size=(n, k, 3))
    errors = rng.laplace(scale=rms_ratio * sigmas / math.sqrt(2))
    sigmas[:, 0], errors[:, 0] = 0.0, 1e6
    groups = np.array([f'video{i // 40}' for i in range(n)])
    return dict(errors=errors, sigmas=sigmas, visible=np.ones((n, k), bool), groups=groups)


def test_raw_coverage_is_the_laplace_probability_and_heldout_recovers_nominal():
    report = sigma_report(_laplace_predictions(rms_ratio=2.0))
    nominal_1 = 1 - math.exp(-math.sqrt(2))  # P(|e| ≤ RMS) of a Laplace
    assert report['raw']['nominal_1sigma'] == pytest.approx(nominal_1, abs=1e-3)
    # σ is half the RMS: P(|e| ≤ RMS / 2) = 1 − exp(−√2 / 2)
    assert report['raw']['within_1sigma'] == pytest.approx(
        1 - math.exp(-math.sqrt(2) / 2), abs=0.02
    )
    assert report['heldout']['within_1sigma'] == pytest.approx(nominal_1, abs=0.02)
    assert report['heldout']['within_2sigma'] == pytest.approx(
        1 - math.exp(-2 * math.sqrt(2)), abs=0.02
    )


def test_sigma_that_follows_the_error_ranks_it():
    good = sigma_report(_laplace_predictions(rms_ratio=1.0))['raw']['sigma_error_spearman']
    shuffled = _laplace_predictions(rms_ratio=1.0)
    non_root = shuffled['sigmas'][:, 1:].reshape(-1, 3)
    np.random.default_rng(1).shuffle(non_root)
    shuffled['sigmas'][:, 1:] = non_root.reshape(shuffled['sigmas'][:, 1:].shape)
    bad = sigma_report(shuffled)['raw']['sigma_error_spearman']
    assert good > 0.3 and abs(bad) < 0.05
