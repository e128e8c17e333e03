"""Evaluate a checkpoint: ``python -m mmpose_rle.cli.test CONFIG CHECKPOINT [options]``.

A thin wrapper around MMEngine's ``Runner`` (also run by ``tools/test.py`` and ``mim test
mmpose_rle``). For a head of the RLE family it adds ``mmpose_rle.UncertaintyMetric`` to the
test evaluator: coverage at 1/2/3σ, ECE, NLL, AUSE and Spearman ρ of the predicted σ.
``--show-dir DIR`` turns on MMPose's ``PoseVisualizationHook`` as MMPose's ``tools/test.py``
does; with our configs' ``mmpose_rle.SigmaPoseLocalVisualizer`` the drawings carry σ
ellipses (``<work dir>/<timestamp>/DIR``).
"""

import argparse
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpose.registry import MODELS

import mmpose_rle  # noqa: F401  (registers the parts, allow-lists checkpoint classes)
from mmpose_rle.engine import CPUAwareRunner, add_hook, default_work_dir
from mmpose_rle.models.heads.predictive_mixin import RLEPredictiveMixin

from .common import add_runner_arguments, load_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a pose model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='also dump the predictions to this .pkl file')
    parser.add_argument('--show-dir', help='draw the predictions into this folder')
    parser.add_argument('--interval', type=int, default=1, help='draw every n-th sample')
    add_runner_arguments(parser, work_dir_help='where logs and metrics go')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command with ``argv`` (``sys.argv[1:]`` when None)."""
    args = parse_args(argv)
    cfg = load_config(args)
    cfg.launcher = args.launcher
    cfg.load_from = args.checkpoint
    cfg.work_dir = default_work_dir(cfg, args.config, args.work_dir)
    add_hook(cfg, 'mmpose_rle.HeadDatasetCheckHook')
    if args.show_dir:
        if 'visualization' not in cfg.default_hooks:
            raise ValueError('--show-dir needs default_hooks.visualization in the config')
        cfg.default_hooks.visualization.update(
            enable=True, out_dir=args.show_dir, interval=args.interval
        )
    evaluator = cfg.test_evaluator
    evaluators = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
    if predicts_sigmas(cfg) and not any(
        str(e.get('type', '')).endswith('UncertaintyMetric') for e in evaluators
    ):
        evaluators.append(dict(type='mmpose_rle.UncertaintyMetric'))
    if args.out:
        evaluators.append(dict(type='DumpResults', out_file_path=args.out))
    cfg.test_evaluator = evaluators
    CPUAwareRunner.from_cfg(cfg).test()


def predicts_sigmas(cfg: Config) -> bool:
    """Whether the config's head is one of ours, top-down or one-stage (and so reports
    ``keypoint_sigmas``)."""
    head = cfg.model.get('head') or {}
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmpose')):
        cls = MODELS.get(head.get('type', ''))
    return isinstance(cls, type) and issubclass(cls, RLEPredictiveMixin)


if __name__ == '__main__':
    main()
