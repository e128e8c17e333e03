"""Train a top-down pose model: ``python -m mmpose_rle.cli.train CONFIG [options]``.

A thin wrapper around MMEngine's ``Runner`` (also run by ``tools/train.py`` and ``mim train
mmpose_rle``). On top of MMPose's own tools/train.py it makes ``--resume`` exact, loads
checkpoints safely on torch >= 2.6 and runs every launcher on machines without a GPU
(gloo).
"""

import argparse
from typing import Optional, Sequence

import mmpose_rle  # noqa: F401  (registers the parts, allow-lists checkpoint classes)
from mmpose_rle.engine import CPUAwareRunner, configure_training

from .common import add_runner_arguments, load_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a pose model')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        help='resume from the latest checkpoint of the work dir, or from the checkpoint given',
    )
    parser.add_argument(
        '--amp',
        nargs='?',
        const='fp16',
        choices=['fp16', 'bf16'],
        help='automatic mixed precision (default fp16)',
    )
    parser.add_argument(
        '--no-exact-resume', action='store_true', help="use MMEngine's plain data seeding"
    )
    add_runner_arguments(
        parser,
        work_dir_help='where logs and checkpoints go',
        cfg_options_help='override config entries, e.g. train_cfg.max_epochs=10',
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command with ``argv`` (``sys.argv[1:]`` when None)."""
    args = parse_args(argv)
    cfg = load_config(args)
    configure_training(
        cfg,
        args.config,
        work_dir=args.work_dir,
        resume=args.resume,
        amp=args.amp,
        launcher=args.launcher,
        exact_resume=not args.no_exact_resume,
    )
    CPUAwareRunner.from_cfg(cfg).train()


if __name__ == '__main__':
    main()
