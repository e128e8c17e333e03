"""Calibrate the σ of a checkpoint: ``python -m mmpose_rle.cli.calibrate CONFIG CHECKPOINT``.

Runs the model (a top-down model, a bottom-up one with ``YOLOXPoseRLEHead`` or ``RTMORLEHead``,
or a pose lifter, with a head of the RLE family) over the config's validation split in each
inference mode — one view, and the flip test when the head and the data set allow it (whatever
the config's ``test_cfg`` says) — fits the head's σ map of each mode (see
:mod:`mmpose_rle.calibration`; a bottom-up model on the ground truth paired with its
predictions), prints the held-out (cross-fitted) uncertainty metrics before and after, and
writes a **new** checkpoint — ``<checkpoint>_calibrated.pth`` unless ``--out`` says
otherwise; an existing file is not overwritten without ``--force`` — that holds the maps in
``head.sigma_calibration.*`` and the reports (``{mode: report}``) in
``meta['sigma_calibration']``. ``predict`` and ``keypoint_sigmas`` (so the demo and the
inference API) use the map of the mode they predict in, the ONNX export (no flip test in its
graph) the single-view map.
"""

import argparse
import json
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.runner import Runner
from mmpose.apis import init_model

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.calibration import MAPS, SHARES, calibrate_model, format_report
from mmpose_rle.models.utils import SigmaCalibration

from .common import load_config


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Calibrate the predicted sigma of a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint to calibrate (left untouched)')
    parser.add_argument('--out', help='calibrated checkpoint (default: <checkpoint>_calibrated)')
    parser.add_argument('--force', action='store_true', help='overwrite --out if it exists')
    parser.add_argument('--kind', choices=MAPS, default='temperature')
    parser.add_argument('--share', choices=SHARES, default='none')
    parser.add_argument(
        '--family',
        choices=['laplace', 'gaussian'],
        default=None,
        help="error model (default: the loss's Q)",
    )
    parser.add_argument('--folds', type=int, default=5, help='folds of the held-out report')
    parser.add_argument('--split', choices=['val', 'test'], default='val')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the command with ``argv`` (``sys.argv[1:]`` when None)."""
    args = parse_args(argv)
    out = args.out or osp.splitext(args.checkpoint)[0] + '_calibrated.pth'
    if osp.abspath(out) == osp.abspath(args.checkpoint):
        raise SystemExit('--out must differ from the checkpoint: the original is kept')
    if osp.exists(out) and not args.force:
        raise SystemExit(f'{out} exists; pass --force to overwrite it')
    cfg = load_config(args)
    model = init_model(cfg, args.checkpoint, device='cpu')
    if not isinstance(getattr(model.head, 'sigma_calibration', None), SigmaCalibration):
        raise SystemExit(f'{type(model.head).__name__} is not a head of the RLE family')
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    loader = Runner.build_dataloader(loader_cfg)
    reports = calibrate_model(
        model, loader, kind=args.kind, share=args.share, family=args.family, folds=args.folds
    )
    print(format_report(reports))
    checkpoint = torch.load(args.checkpoint, map_location='cpu', weights_only=True)
    state = checkpoint.get('state_dict', checkpoint)
    for name, value in model.head.sigma_calibration.state_dict().items():
        state[f'head.sigma_calibration.{name}'] = value.clone()
    checkpoint = checkpoint if 'state_dict' in checkpoint else dict(state_dict=state)
    checkpoint.setdefault('meta', {})['sigma_calibration'] = json.loads(json.dumps(reports))
    torch.save(checkpoint, out)
    print(f'calibrated checkpoint: {out}')


if __name__ == '__main__':
    main()
