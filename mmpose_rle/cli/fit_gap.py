"""How well raw σ fits training and validation errors:
``python -m mmpose_rle.cli.fit_gap CONFIG CHECKPOINT`` (``tools/sigma_fit_gap.py``).

Prints ``RMS(error/σ)`` and the share of coordinates within 1σ on the training images
(augmented as in training, and plain) and on the validation images, for a top-down RLE
model (:mod:`mmpose_rle.calibration.fit_gap` says how to read it).
"""

import argparse
from typing import Optional, Sequence

from mmengine.config import DictAction
from mmpose.apis import init_model

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.calibration.fit_gap import fit_gap

from .common import load_config

__all__ = ['main']


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='RMS(error/sigma) on training and val images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--passes', type=int, default=5, help='passes of augmented images')
    parser.add_argument('--seed', type=int, default=0, help='seed of the augmentation')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command with ``argv`` (``sys.argv[1:]`` when None)."""
    args = parse_args(argv)
    cfg = load_config(args)
    model = init_model(cfg, args.checkpoint, device='cpu')
    report = fit_gap(model, cfg, passes=args.passes, seed=args.seed)
    print('| images | RMS(error/σ) | within 1σ (per coordinate) | coordinates |')
    print('|---|---|---|---|')
    for name, row in report.items():
        print(f'| {name} | {row["rms_ratio"]:.2f} | {row["within_1sigma"]:.2f} | {row["n"]} |')
