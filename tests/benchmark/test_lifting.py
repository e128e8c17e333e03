"""The lifting benchmark: σ metrics against closed forms of a Laplace error, and the variants
(loss × initialisation and units) it trains."""

import importlib.util
import math

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.models.heads import TemporalRegressionHead
from mmpose.registry import MODELS

from mmpose_rle.benchmark.lifting import sigma_report
from mmpose_rle.benchmark.lifting_variants import (
    LIFTING_CONTRASTS,
    LIFTING_VARIANTS,
    MMPOSE_LIFTING_INIT_CFG,
    write_variant_config,
)
from mmpose_rle.models import RLELiftingHead
from tests.helpers import ROOT


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


# --- the variants: loss × (initialisation, units) -------------------------------------

TOOL = ROOT / 'tools/benchmark_lifting.py'
CUBE, METRES = 'Normal(0.01), 2 m cube', 'PyTorch default, metres'


def _tool():
    spec = importlib.util.spec_from_file_location('benchmark_lifting_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('name', list(LIFTING_VARIANTS))
def test_variant_configs_build_the_head_they_declare(name, tmp_path, monkeypatch):
    """Each variant's model: its loss, the init of the head's convolutions (weight std:
    0.01, or PyTorch's default 1/√(3·C)) and its units (2 m or 1 m per unit of output)."""
    monkeypatch.setenv('MMPOSE_RLE_LIFTING_ROOT', str(tmp_path))
    variant = LIFTING_VARIANTS[name]
    path = write_variant_config(name, str(ROOT / 'configs/quickstart3d'), False, str(tmp_path))
    cfg = Config.fromfile(path)
    base = Config.fromfile(
        str(ROOT / f'configs/quickstart3d/tcn-1frm_{variant.base}_synthetic3d.py')
    )
    assert {k: v for k, v in cfg.items() if k != 'model'} == {
        k: v for k, v in base.items() if k != 'model'
    }
    assert cfg.model.backbone == base.model.backbone
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    model.init_weights()
    head, channels = model.head, cfg.model.head.in_channels
    is_rle = isinstance(head, RLELiftingHead)
    assert is_rle == (variant.loss == 'RLE')
    assert type(getattr(head.loss_module, 'loss', head.loss_module)).__name__ == (
        'RLELoss' if is_rle else 'MSELoss'
    )
    std = 0.01 if variant.init == CUBE else 1 / math.sqrt(3 * channels)
    for conv in [head.conv] + ([head.conv_sigma] if is_rle else []):
        assert conv.weight.detach().std().item() == pytest.approx(std, rel=0.05)
    # metres per unit of the head's raw output: 2 in the cube, 1 in metres (MMPose's head)
    assert getattr(head, 'label_scale', 1.0) == pytest.approx(2.0 if variant.init == CUBE else 1.0)


def test_mmposes_init_cfg_is_the_one_declared():
    mmpose_head = TemporalRegressionHead(in_channels=1, num_joints=1)
    assert MMPOSE_LIFTING_INIT_CFG == mmpose_head.default_init_cfg


def test_contrasts_change_what_they_say_they_isolate():
    for a, b, what in LIFTING_CONTRASTS:
        va, vb = LIFTING_VARIANTS[a], LIFTING_VARIANTS[b]
        same_loss, same_init = va.loss == vb.loss, va.init == vb.init
        if what.startswith('the loss'):
            assert not same_loss and same_init, (a, b)
        elif what.startswith('init and units'):
            assert same_loss and not same_init, (a, b)
        else:
            assert not same_loss and not same_init, (a, b)


def test_cli_selects_variants():
    tool = _tool()
    assert tool.parse_args([]).variants == ['mse', 'mse_rle_init', 'rle', 'rle_mse_init']
    assert tool.parse_args(['--variants', 'rle_mse_init', 'mse']).variants == [
        'rle_mse_init',
        'mse',
    ]
    with pytest.raises(SystemExit):
        tool.parse_args(['--variants', 'heatmap'])


def test_report_pairs_the_variants_by_seed():
    """Paired differences over seeds: MPJPE 100 + 3·seed (mse) and 90 + 2·seed (rle) give
    rle − mse = −10 − seed, −11.0 ± 1.0 over seeds 0, 1, 2."""
    tool = _tool()
    args = tool.parse_args(['--rates', '0', '--seeds', '0', '1', '2'])
    sigma = {f'{k}_{m}': 0.5 for k in ('raw', 'heldout') for m in tool.SIGMA}
    base = {'mse': 100.0, 'mse_rle_init': 95.0, 'rle': 90.0, 'rle_mse_init': 92.0}
    results = {
        '0': {
            seed: {
                name: dict(
                    {k: value + (3 if name == 'mse' else 2) * seed for k in tool.ACCURACY},
                    **sigma,
                )
                for name, value in base.items()
            }
            for seed in args.seeds
        }
    }
    speed = {n: dict(params=1, head_params=0.1, predict_ms=1, train_ms=2) for n in base}
    lines = tool.markdown(results, speed, args).splitlines()
    row = next(line for line in lines if line.startswith('| 0 | rle − mse |'))
    assert '-11.0 ± 1.0' in row and row.endswith('| 3 of 3 |')
    row = next(line for line in lines if line.startswith('| 0 | rle − mse_rle_init |'))
    assert '-5.0 ± 0.0' in row
    for name in ('rle', 'rle_mse_init'):  # σ rows for the variants that predict σ only
        for label in ('raw', 'temperature, held-out'):
            assert (
                f'| 0 | {name} | {label} | 50.0 % ± 0.0 | 50.0 % ± 0.0 | 0.500 ± 0.000 |' in lines
            )
    assert not any(line.startswith('| 0 | mse | raw') for line in lines)
