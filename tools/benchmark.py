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
import shlex
import sys

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from tqdm import tqdm

import mmpose_rle  # noqa: F401
from mmpose_rle.benchmark import (
    DEFAULT_VARIANTS,
    evaluate_checkpoint,
    make_variant,
    markdown,
    measure_speed,
    paired_markdown,
    paired_speed,
    summarise,
    train_variant,
    write_report,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='base RLE config')
    parser.add_argument('--variants', nargs='+', default=DEFAULT_VARIANTS)
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
        '--reuse',
        action='store_true',
        help='keep runs already trained in --out-dir (continue a benchmark)',
    )
    parser.add_argument('--threads', type=int, default=2, help='torch threads for timing')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='applied to the base config before the variants',
    )
    return parser.parse_args()


def _input_size(cfg: Config):
    return cfg.codec['input_size'] if 'codec' in cfg else cfg.model.head.decoder['input_size']


def _num_keypoints(model: torch.nn.Module) -> int:
    return getattr(model.head, 'num_joints', None) or model.head.out_channels


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out_dir, exist_ok=True)
    base = Config.fromfile(args.config)
    init_default_scope('mmpose')
    results, models = {}, {}
    for name in tqdm(args.variants, desc='variants'):
        cfg = make_variant(base, name, args.cfg_options)
        results[name] = {}
        if not args.no_speed:
            model = models[name] = MODELS.build(cfg.model)
            results[name]['speed'] = measure_speed(
                model,
                _input_size(cfg),
                _num_keypoints(model),
                batch_sizes=args.batch_sizes,
                repeats=args.repeats,
            )
        if args.train:
            runs = []
            for seed in tqdm(args.seeds, desc=f'{name}: seeds', leave=False):
                work = osp.join(args.out_dir, name, f'seed{seed}')
                trained = train_variant(cfg, work, seed, args.epochs, reuse=args.reuse)
                metrics = evaluate_checkpoint(cfg, trained['checkpoint'], work)
                runs.append({**metrics, 'train_time': trained['train_time']})
                if trained['iter_time'] is not None:
                    runs[-1]['iter_time'] = trained['iter_time']
            results[name]['accuracy'] = summarise(runs)
            results[name]['runs'] = runs
        tqdm.write(markdown({name: results[name]}))
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
    command = 'python ' + ' '.join(shlex.quote(a) for a in sys.argv)
    paths = write_report(results, args.out_dir, command, paired=paired)
    print(markdown(results) + ('\n' + paired_markdown(paired) if paired else ''))
    print('written: ' + ', '.join(paths.values()))


if __name__ == '__main__':
    main()
