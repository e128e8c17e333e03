"""Benchmark RLE lifting against MMPose's MSE lifting head on the procedural skeletons.

``python tools/benchmark_lifting.py [--rates 0 0.15] [--seeds 0 1 2] [--epochs 15]
[--variants mse mse_rle_init rle rle_mse_init] [--temporal] --out-dir DIR``

The variants (:mod:`mmpose_rle.benchmark.lifting_variants`) cross the loss (MSE, RLE) with
the initialisation and units (MMPose's: PyTorch's default, metres; ours: Normal(0.01), a
2 m cube). For every outlier rate and seed, the data (:mod:`mmpose_rle.datasets.synthetic3d`,
drawn with that seed) is shared by all variants, which train on the same TCN for the same
epochs (``configs/quickstart3d``; :mod:`mmpose_rle.benchmark.lifting`). Reported: MPJPE,
P-MPJPE, N-MPJPE (MMPose's metric, mm) as mean ± std over seeds, the paired differences of
``LIFTING_CONTRASTS`` between the variants run, the σ metrics of the RLE variants raw and
after a held-out temperature, parameters, and CPU speed (``test_step`` on a batch of 256,
training step on a batch of 64, one thread). Writes ``results.md`` and ``results.json``
(and the derived variant configs under ``configs/``); ``--reuse`` keeps finished runs.
"""

import argparse
import json
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

import mmpose_rle  # noqa: F401
from mmpose_rle.benchmark.lifting import (
    evaluate_lifting,
    lifting_env,
    lifting_size_and_speed,
    make_test_runner,
)
from mmpose_rle.benchmark.lifting_variants import (
    LIFTING_CONTRASTS,
    LIFTING_VARIANTS,
    write_variant_config,
)
from mmpose_rle.benchmark.report import command_line, write_results
from mmpose_rle.benchmark.training import train_variant
from mmpose_rle.datasets import SyntheticLifting, generate_synthetic_lifting

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ACCURACY = ('mpjpe', 'p_mpjpe', 'n_mpjpe')
SIGMA = ('within_1sigma', 'within_2sigma', 'sigma_error_spearman')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rates', type=float, nargs='+', default=[0.0, 0.15])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument(
        '--variants',
        nargs='+',
        choices=list(LIFTING_VARIANTS),
        default=list(LIFTING_VARIANTS),
        help='heads to train (default: all); see mmpose_rle.benchmark.lifting_variants',
    )
    parser.add_argument('--temporal', action='store_true', help='27-frame TCN instead of 1')
    parser.add_argument('--out-dir', default='work_dirs/benchmark_lifting')
    parser.add_argument('--reuse', action='store_true', help='keep finished runs')
    parser.add_argument(
        '--cache', default=os.environ.get('MMPOSE_RLE_CACHE', '~/.cache/mmpose_rle')
    )
    return parser.parse_args(argv)


def config_of(variant: str, args) -> str:
    """The config of ``variant`` (derived ones are written under ``{out_dir}/configs``)."""
    return write_variant_config(
        variant,
        osp.join(ROOT, 'configs/quickstart3d'),
        args.temporal,
        osp.join(args.out_dir, 'configs'),
    )


def run_one(args, rate: float, seed: int, variant: str) -> dict:
    """Train and evaluate one variant on the data of (rate, seed); with ``--reuse``, keep a
    finished run's metrics or a trained run's checkpoint."""
    work_dir = osp.join(args.out_dir, 'runs', f'rate{rate:g}', f'seed{seed}', variant)
    record = osp.join(work_dir, 'metrics.json')
    if args.reuse and osp.exists(record):
        with open(record) as f:
            return json.load(f)
    data = generate_synthetic_lifting(
        osp.join(args.cache, 'data'), SyntheticLifting(outlier_rate=rate, seed=seed)
    )
    config = config_of(variant, args)
    checkpoint = osp.join(work_dir, f'epoch_{args.epochs}.pth')
    if args.reuse and osp.exists(checkpoint):  # trained, not evaluated
        run = dict(checkpoint=checkpoint, train_time=float('nan'))
    else:
        run = train_variant(config, work_dir, seed, args.epochs, env=lifting_env(data))
    result, _ = evaluate_lifting(make_test_runner(config, run['checkpoint'], str(data), work_dir))
    result['train_time'] = run['train_time']
    with open(record, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def size_and_speed(args) -> dict:
    """Parameters and speed of every variant's model on one batch of procedural data."""
    init_default_scope('mmpose')
    data = generate_synthetic_lifting(osp.join(args.cache, 'data'), SyntheticLifting())
    out = {}
    for variant in args.variants:
        os.environ['MMPOSE_RLE_LIFTING_ROOT'] = str(data)
        cfg = Config.fromfile(config_of(variant, args))
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        model = MODELS.build(cfg.model)
        model.init_weights()
        out[variant] = lifting_size_and_speed(
            model,
            predict_batch=pseudo_collate([dataset[i] for i in range(256)]),
            train_batch=pseudo_collate([dataset[i] for i in range(64)]),
        )
    return out


def mean_std(values, digits: int = 1, unit: str = '') -> str:
    """``mean ± std`` (sample std; 0 for one value)."""
    values = np.asarray(values, float)
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f'{values.mean():.{digits}f}{unit} ± {std:.{digits}f}'


def table_head(caption: str, columns: list) -> list:
    """A table's caption, a blank line, its header row and the separator."""
    return [caption, '', '| ' + ' | '.join(columns) + ' |', '|---' * len(columns) + '|']


def accuracy_lines(results: dict, args) -> list:
    """The accuracy table: one row per rate and variant."""
    lines = table_head(
        f'Accuracy (validation split, mm, mean ± std over seeds {args.seeds}, '
        f'{args.epochs} epochs, {"27" if args.temporal else "1"}-frame TCN):',
        ['outlier rate', 'variant', 'loss', 'init, units', 'MPJPE', 'P-MPJPE', 'N-MPJPE'],
    )
    for rate in args.rates:
        runs = results[f'{rate:g}'].values()
        for name in args.variants:
            v = LIFTING_VARIANTS[name]
            cells = [mean_std([r[name][k] for r in runs]) for k in ACCURACY]
            lines.append(f'| {rate:g} | {name} | {v.loss} | {v.init} | ' + ' | '.join(cells) + ' |')
    return lines


def contrast_lines(results: dict, args) -> list:
    """Paired differences (same data and seed) of the contrasts whose variants both ran."""
    contrasts = [c for c in LIFTING_CONTRASTS if {c[0], c[1]} <= set(args.variants)]
    if not contrasts:
        return []
    lines = [''] + table_head(
        'Paired differences a − b (mm, same data and seed; mean ± std over seeds; '
        'negative: a is more accurate):',
        ['outlier rate', 'a − b', 'isolates', 'MPJPE', 'P-MPJPE', 'N-MPJPE', 'seeds a < b (MPJPE)'],
    )
    for rate in args.rates:
        runs = results[f'{rate:g}'].values()
        for a, b, what in contrasts:
            diffs = {k: [r[a][k] - r[b][k] for r in runs] for k in ACCURACY}
            wins = sum(d < 0 for d in diffs['mpjpe'])
            cells = ' | '.join(mean_std(diffs[k]) for k in ACCURACY)
            lines.append(
                f'| {rate:g} | {a} − {b} | {what} | {cells} | {wins} of {len(diffs["mpjpe"])} |'
            )
    return lines


def sigma_lines(results: dict, args) -> list:
    """σ metrics of the variants that predict σ, raw and after a held-out temperature."""
    with_sigma = [n for n in args.variants if LIFTING_VARIANTS[n].loss == 'RLE']
    if not with_sigma:
        return []
    lines = [''] + table_head(
        'RLE σ (non-root joints, per coordinate; nominal Laplace coverage '
        '0.757 at 1σ, 0.941 at 2σ), mean ± std over seeds:',
        ['outlier rate', 'variant', 'σ', '≤1σ', '≤2σ', 'Spearman ρ(σ, error)'],
    )
    for rate in args.rates:
        runs = results[f'{rate:g}'].values()
        for name in with_sigma:
            for kind, label in (('raw', 'raw'), ('heldout', 'temperature, held-out')):
                cells = [
                    mean_std([100 * r[name][f'{kind}_{k}'] for r in runs], unit=' %')
                    for k in SIGMA[:2]
                ]
                cells.append(mean_std([r[name][f'{kind}_{SIGMA[2]}'] for r in runs], digits=3))
                lines.append(f'| {rate:g} | {name} | {label} | ' + ' | '.join(cells) + ' |')
    return lines


def markdown(results: dict, speed: dict, args) -> str:
    """The report: command, accuracy, paired differences, σ, size and speed."""
    lines = [f'Command: `{command_line()}`', '']
    lines += accuracy_lines(results, args) + contrast_lines(results, args)
    lines += sigma_lines(results, args)
    lines += [''] + table_head(
        'Size and CPU speed (one thread; test_step on 256 samples, training step on 64):',
        ['variant', 'params (M)', 'head params (M)', 'test_step (ms)', 'train step (ms)'],
    )
    for name, s in speed.items():
        lines.append(
            f'| {name} | {s["params"]:.3f} | {s["head_params"]:.3f} | '
            f'{s["predict_ms"]:.1f} | {s["train_ms"]:.1f} |'
        )
    return '\n'.join(lines) + '\n'


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    results = {}
    for rate in args.rates:
        results[f'{rate:g}'] = {}
        for seed in args.seeds:
            results[f'{rate:g}'][seed] = {v: run_one(args, rate, seed, v) for v in args.variants}
            print(f'[benchmark_lifting] rate {rate:g} seed {seed}:', flush=True)
            for name, r in results[f'{rate:g}'][seed].items():
                print(f'  {name}: ' + ', '.join(f'{k} {r[k]:.1f}' for k in ACCURACY), flush=True)
    speed = size_and_speed(args)
    report = markdown(results, speed, args)
    write_results(args.out_dir, dict(results=results, speed=speed, args=vars(args)), report)
    print(report)


if __name__ == '__main__':
    main()
