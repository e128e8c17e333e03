"""Benchmark RLE lifting against MMPose's MSE lifting head on the procedural skeletons.

``python tools/benchmark_lifting.py [--rates 0 0.15] [--seeds 0 1 2] [--epochs 15]
[--temporal] --out-dir DIR``

For every outlier rate and seed, the data (:mod:`mmpose_rle.datasets.synthetic3d`, drawn
with that seed) is shared by both heads, which train on the same TCN for the same epochs
(``configs/quickstart3d``; :mod:`mmpose_rle.benchmark.lifting`). Reported: MPJPE,
P-MPJPE, N-MPJPE (MMPose's metric, mm) as mean ± std over seeds, the paired difference
RLE − MSE, RLE's σ metrics raw and after a held-out temperature, parameters, and CPU
speed (``test_step`` on a batch of 256, training step on a batch of 64, one thread).
Writes ``results.md`` and ``results.json``; ``--reuse`` keeps finished runs.
"""

import argparse
import json
import os
import os.path as osp
import shlex
import sys

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpose.registry import DATASETS, MODELS

import mmpose_rle  # noqa: F401
from mmpose_rle.benchmark.lifting import (
    evaluate_lifting,
    lifting_size_and_speed,
    make_test_runner,
    train_lifting,
)
from mmpose_rle.datasets import SyntheticLifting, generate_synthetic_lifting

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
HEADS = ('mse', 'rle')
ACCURACY = ('mpjpe', 'p_mpjpe', 'n_mpjpe')
SIGMA = ('within_1sigma', 'within_2sigma', 'sigma_error_spearman')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rates', type=float, nargs='+', default=[0.0, 0.15])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--temporal', action='store_true', help='27-frame TCN instead of 1')
    parser.add_argument('--out-dir', default='work_dirs/benchmark_lifting')
    parser.add_argument('--reuse', action='store_true', help='keep finished runs')
    parser.add_argument(
        '--cache', default=os.environ.get('MMPOSE_RLE_CACHE', '~/.cache/mmpose_rle')
    )
    return parser.parse_args()


def config_of(head: str, temporal: bool) -> str:
    frames = '27frm' if temporal else '1frm'
    return osp.join(ROOT, f'configs/quickstart3d/tcn-{frames}_{head}_synthetic3d.py')


def run_one(args, rate: float, seed: int, head: str) -> dict:
    """Train and evaluate one head on the data of (rate, seed); with ``--reuse``, keep a
    finished run's metrics or a trained run's checkpoint."""
    work_dir = osp.join(args.out_dir, 'runs', f'rate{rate:g}', f'seed{seed}', head)
    record = osp.join(work_dir, 'metrics.json')
    if args.reuse and osp.exists(record):
        with open(record) as f:
            return json.load(f)
    data = generate_synthetic_lifting(
        osp.join(args.cache, 'data'), SyntheticLifting(outlier_rate=rate, seed=seed)
    )
    config = config_of(head, args.temporal)
    checkpoint = osp.join(work_dir, f'epoch_{args.epochs}.pth')
    if args.reuse and osp.exists(checkpoint):  # trained, not evaluated
        run = dict(checkpoint=checkpoint, train_time=float('nan'))
    else:
        run = train_lifting(config, work_dir, str(data), seed, args.epochs)
    result, _ = evaluate_lifting(make_test_runner(config, run['checkpoint'], str(data), work_dir))
    result['train_time'] = run['train_time']
    with open(record, 'w') as f:
        json.dump(result, f, indent=1)
    return result


def size_and_speed(args) -> dict:
    """Parameters and speed of both heads' models on one batch of procedural data."""
    init_default_scope('mmpose')
    data = generate_synthetic_lifting(osp.join(args.cache, 'data'), SyntheticLifting())
    out = {}
    for head in HEADS:
        os.environ['MMPOSE_RLE_LIFTING_ROOT'] = str(data)
        cfg = Config.fromfile(config_of(head, args.temporal))
        dataset = DATASETS.build(cfg.val_dataloader.dataset)
        model = MODELS.build(cfg.model)
        model.init_weights()
        out[head] = lifting_size_and_speed(
            model,
            predict_batch=pseudo_collate([dataset[i] for i in range(256)]),
            train_batch=pseudo_collate([dataset[i] for i in range(64)]),
        )
    return out


def mean_std(values) -> str:
    values = np.asarray(values, float)
    return f'{values.mean():.1f} ± {values.std(ddof=1) if len(values) > 1 else 0:.1f}'


def markdown(results: dict, speed: dict, args) -> str:
    command = 'python ' + ' '.join(shlex.quote(a) for a in sys.argv)
    lines = [
        f'Command: `{command}`',
        '',
        f'Accuracy (validation split, mm, mean ± std over seeds {args.seeds}, '
        f'{args.epochs} epochs, {"27" if args.temporal else "1"}-frame TCN):',
        '',
        '| outlier rate | head | MPJPE | P-MPJPE | N-MPJPE | RLE − MSE (MPJPE, paired) |',
        '|---|---|---|---|---|---|',
    ]
    for rate in args.rates:
        runs = results[f'{rate:g}']
        diff = [r['rle']['mpjpe'] - r['mse']['mpjpe'] for r in runs.values()]
        for head in HEADS:
            cells = [mean_std([r[head][k] for r in runs.values()]) for k in ACCURACY]
            gap = mean_std(diff) if head == 'rle' else ''
            lines.append(f'| {rate:g} | {head} | ' + ' | '.join(cells) + f' | {gap} |')
    lines += [
        '',
        'RLE σ (non-root joints, per coordinate; nominal Laplace coverage '
        '0.757 at 1σ, 0.941 at 2σ), mean ± std over seeds:',
        '',
        '| outlier rate | σ | ≤1σ | ≤2σ | Spearman ρ(σ, error) |',
        '|---|---|---|---|---|',
    ]
    for rate in args.rates:
        runs = results[f'{rate:g}']
        for name, label in (('raw', 'raw'), ('heldout', 'temperature, held-out')):
            cells = [
                mean_std([100 * r['rle'][f'{name}_{k}'] for r in runs.values()]).replace(
                    ' ±', ' % ±'
                )
                if k != 'sigma_error_spearman'
                else '{:.3f} ± {:.3f}'.format(
                    *(lambda v: (np.mean(v), np.std(v, ddof=1) if len(v) > 1 else 0))(
                        [r['rle'][f'{name}_{k}'] for r in runs.values()]
                    )
                )
                for k in SIGMA
            ]
            lines.append(f'| {rate:g} | {label} | ' + ' | '.join(cells) + ' |')
    lines += [
        '',
        'Size and CPU speed (one thread; test_step on 256 samples, training step on 64):',
        '',
        '| head | params (M) | head params (M) | test_step (ms) | train step (ms) |',
        '|---|---|---|---|---|',
    ]
    for head, s in speed.items():
        lines.append(
            f'| {head} | {s["params"]:.3f} | {s["head_params"]:.3f} | '
            f'{s["predict_ms"]:.1f} | {s["train_ms"]:.1f} |'
        )
    return '\n'.join(lines) + '\n'


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out_dir, exist_ok=True)
    results = {}
    for rate in args.rates:
        results[f'{rate:g}'] = {}
        for seed in args.seeds:
            results[f'{rate:g}'][seed] = {h: run_one(args, rate, seed, h) for h in HEADS}
            print(f'[benchmark_lifting] rate {rate:g} seed {seed}:', flush=True)
            for head, r in results[f'{rate:g}'][seed].items():
                print(f'  {head}: ' + ', '.join(f'{k} {r[k]:.1f}' for k in ACCURACY), flush=True)
    speed = size_and_speed(args)
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, speed=speed, args=vars(args)), f, indent=1)
    report = markdown(results, speed, args)
    with open(osp.join(args.out_dir, 'results.md'), 'w') as f:
        f.write(report)
    print(report)


if __name__ == '__main__':
    main()
