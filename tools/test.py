"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``.

A thin wrapper around MMEngine's ``Runner`` (also run by ``mim test mmpose_rle``).
"""
import argparse

from mmengine.config import Config, DictAction

import mmpose_rle  # noqa: F401  (registers the parts, allow-lists checkpoint classes)
from mmpose_rle.engine import CPUAwareRunner, add_hook, default_work_dir


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics go')
    parser.add_argument('--out', help='also dump the predictions to this .pkl file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
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
