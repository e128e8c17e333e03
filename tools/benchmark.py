"""Benchmark RLE against heatmap and regression baselines on the same backbone.

``python tools/benchmark.py BASE_CONFIG [--variants rle heatmap ...] [--no-speed]
[--train --epochs N --seeds 0 1 2] --out-dir DIR``

``BASE_CONFIG`` is an RLE config (backbone + GlobalAveragePooling + RLE head); every
variant (``mmpose_rle.benchmark.variants``) swaps only the head, neck and targets. Speed
is measured for all variants in this one process (read the ratios), then once more
interleaved, round by round, for ratios from which a drifting machine load cancels
(``mmpose_rle.benchmark.paired``); with ``--train`` each variant is trained for
``--epochs`` per seed and evaluated (accuracy and σ calibration).
Writes ``results.md``, ``results.json`` and ``accuracy_vs_throughput.png`` to ``--out-dir``.
"""

import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from tqdm import tqdm

import mmpose_rle  # noqa: F401
from mmpose_rle.benchmark import (
    command_line,
    default_variants,
    make_variant,
    markdown,
    measure_speed,
    paired_markdown,
    paired_speed,
    subset_training_set,
    summarise,
    train_and_evaluate,
    write_report,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='base RLE config')
    parser.add_argument('--variants', nargs='+', help="default: by the base config's kind")
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    parser.add_argument('--no-speed', action='store_true')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 32])
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--paired-rounds',
        type=int,
        default=10,
        help='rounds of the interleaved timing of all variants (0: skip)',
    )
    parser.add_argument(
        '--paired-batch', type=int, default=8, help='inference batch of the interleaved timing'
    )
    parser.add_argument('--train', action='store_true', help='also train and evaluate')
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument(
        '--val-interval',
        type=int,
        default=None,
        help='validate every N epochs during training, for the learning curves '
        '(default: only at the end)',
    )
    parser.add_argument(
        '--seed-major',
        action='store_true',
        help='train seed by seed, every variant within a seed (a load that drifts during the '
        'benchmark then falls on all variants alike)',
    )
    parser.add_argument(
        '--reuse',
        action='store_true',
        help='keep runs already trained in --out-dir (continue a benchmark)',
    )
    parser.add_argument(
        '--train-fraction',
        type=float,
        default=1.0,
        help='train on this random share of the training split (drawn per seed; epochs kept)',
    )
    parser.add_argument('--threads', type=int, default=2, help='torch threads for timing')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='applied to the base config before the variants',
    )
    parser.add_argument(
        '--variant-cfg-options',
        nargs='+',
        action=DictAction,
        help="applied to every variant's config after its head is swapped in (arguments of "
        'the new head, e.g. model.head.dense_loss.loss_weight=0.5)',
    )
    return parser.parse_args()


def _input_size(cfg: Config):
    return cfg.codec['input_size'] if 'codec' in cfg else cfg.model.head.decoder['input_size']


def _num_keypoints(model: torch.nn.Module) -> int:
    """The keypoint count of a top-down head (``num_joints`` / ``out_channels``) or of a
    one-stage head (``num_keypoints``)."""
    head = model.head
    for name in ('num_joints', 'num_keypoints', 'out_channels'):
        if getattr(head, name, None):
            return getattr(head, name)
    raise ValueError(f'{type(head).__name__}: cannot tell its number of keypoints')


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    base = Config.fromfile(args.config)
    init_default_scope('mmpose')
    names = args.variants or default_variants(base)
    cfgs = {n: make_variant(base, n, args.cfg_options, args.variant_cfg_options) for n in names}
    results: dict = {name: {} for name in cfgs}
    models = {}
    if not args.no_speed:
        for name, cfg in tqdm(cfgs.items(), desc='speed'):
            model = models[name] = MODELS.build(cfg.model)
            results[name]['speed'] = measure_speed(
                model,
                _input_size(cfg),
                _num_keypoints(model),
                batch_sizes=args.batch_sizes,
                repeats=args.repeats,
            )
    if args.train:
        order = [(s, n) for n in cfgs for s in args.seeds]
        if args.seed_major:
            order = [(s, n) for s in args.seeds for n in cfgs]
        runs: dict = {name: {} for name in cfgs}
        for seed, name in tqdm(order, desc='training runs'):
            work = osp.join(args.out_dir, name, f'seed{seed}')
            cfg = subset_training_set(cfgs[name], args.train_fraction, seed)
            runs[name][seed] = train_and_evaluate(
                cfg, work, seed, args.epochs, reuse=args.reuse, val_interval=args.val_interval
            )
            tqdm.write(
                f'{name} seed {seed}: '
                + markdown({name: dict(accuracy=summarise([runs[name][seed]]))}).splitlines()[-1]
            )
        for name in cfgs:
            ordered = [runs[name][s] for s in args.seeds]
            results[name]['accuracy'] = summarise(ordered)
            results[name]['runs'] = [
                {k: v for k, v in r.items() if k not in ('curve', 'curves')} for r in ordered
            ]
            results[name]['curves'] = [r.get('curve', []) for r in ordered]
            results[name]['uncertainty_curves'] = [r.get('curves') for r in ordered]
    paired = None
    if models and args.paired_rounds > 0:
        tqdm.write('interleaved timing of ' + ', '.join(models))
        first = next(iter(models.values()))
        paired = paired_speed(
            models,
            _input_size(base),
            _num_keypoints(first),
            batch_size=args.paired_batch,
            rounds=args.paired_rounds,
        )
    command = command_line()
    paths = write_report(results, args.out_dir, command, paired=paired)
    print(markdown(results) + ('\n' + paired_markdown(paired) if paired else ''))
    print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    main()
