"""The lifting benchmark: σ metrics against closed forms of a Laplace error, the environment
of its training runs and its evaluation of a checkpoint."""

import math

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmpose_rle.benchmark.lifting import (
    evaluate_lifting,
    lifting_env,
    lifting_size_and_speed,
    make_test_runner,
    sigma_report,
)
from tests.calibration.fixtures import LIFTING_CONFIG, lifting_data, lifting_model_and_loader


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


def test_lifting_env_names_the_data_and_the_threads():
    assert lifting_env('/data/x') == dict(MMPOSE_RLE_LIFTING_ROOT='/data/x', OMP_NUM_THREADS='1')
    assert lifting_env('d', threads=4)['OMP_NUM_THREADS'] == '4'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """A perturbed, untrained RLE lifting model saved as a checkpoint, with its data."""
    tmp = tmp_path_factory.mktemp('lifting')
    data = lifting_data(tmp / 'data')
    model, loader = lifting_model_and_loader(data)
    path = tmp / 'model.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path, data, model, loader


def test_evaluation_reports_mmposes_mpjpe_and_sigma_of_the_non_root_joints(
    checkpoint, tmp_path, monkeypatch
):
    path, data, _, _ = checkpoint
    monkeypatch.setenv('MMPOSE_RLE_LIFTING_ROOT', str(data))  # restored after the test
    runner = make_test_runner(str(LIFTING_CONFIG), str(path), str(data), str(tmp_path))
    result, predictions = evaluate_lifting(runner)
    distances = np.linalg.norm(predictions['errors'], axis=-1)  # mm, root error 0
    assert result['mpjpe'] == pytest.approx(distances.mean(), rel=1e-5)
    assert result['p_mpjpe'] <= result['mpjpe'] and result['n_mpjpe'] <= result['mpjpe']
    e, s = np.abs(predictions['errors'][:, 1:]), predictions['sigmas'][:, 1:]
    assert result['raw_within_1sigma'] == pytest.approx(np.mean(e <= s))
    assert result['raw_within_2sigma'] == pytest.approx(np.mean(e <= 2 * s))
    assert result['nominal_1sigma'] == pytest.approx(1 - math.exp(-math.sqrt(2)))
    assert {f'heldout_{k}' for k in ('within_1sigma', 'within_2sigma', 'ece')} < set(result)


def test_size_and_speed_count_the_parameters(checkpoint):
    _, _, model, loader = checkpoint
    dataset = loader.dataset
    batch = pseudo_collate([dataset[i] for i in range(8)])
    out = lifting_size_and_speed(model, predict_batch=batch, train_batch=batch, repeats=1)
    assert out['params'] == sum(p.numel() for p in model.parameters()) / 1e6
    head = 2 * (model.head.in_channels + 1) * 17 * 3  # two 1×1 convolutions
    assert out['head_params'] - head / 1e6 == pytest.approx(
        sum(p.numel() for p in model.head.loss_module.parameters()) / 1e6
    )
    assert out['predict_ms'] > 0 and out['train_ms'] > 0
    assert all(p.grad is None for p in model.parameters())
    model.eval()
