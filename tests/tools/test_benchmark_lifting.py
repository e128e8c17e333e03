"""tools/benchmark_lifting.py: its command line and its report of paired differences."""

import pytest

from tests.helpers import load_tool


def test_cli_selects_variants():
    tool = load_tool('benchmark_lifting')
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
    tool = load_tool('benchmark_lifting')
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
