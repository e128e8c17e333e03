"""Evaluate a checkpoint: ``python -m mmpose_rle.cli.test CONFIG CHECKPOINT [options]``.

A thin wrapper around MMEngine's ``Runner`` (also run by ``tools/test.py`` and ``mim test
mmpose_rle``).
"""

import argparse
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

import mmpose_rle  # noqa: F401  (registers the parts, allow-lists checkpoint classes)
from mmpose_rle.engine import CPUAwareRunner, add_hook, default_work_dir


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--out', help='also dump the predictions to this .pkl file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config entries'
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command with ``argv`` (``sys.argv[1:]`` when None)."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    add_hook(cfg, 'mmpose_rle.HeadDatasetCheckHook')
    if args.out:
        evaluator = cfg.test_evaluator
        evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        cfg.test_evaluator = [*evaluators, dict(type='DumpResults', out_file_path=args.out)]
    CPUAwareRunner.from_cfg(cfg).test()


if __name__ == '__main__':
    main()
