"""Keypoints with σ for an image, a folder, a video or a webcam (MMPose's inferencer + σ).

``python tools/infer.py INPUT CONFIG CHECKPOINT --out-dir OUT``, INPUT an image, a folder
of images, a video file or ``webcam``. Writes ``OUT/visualizations/`` (MMPose's drawing
with σ ellipses; a video for a video) and ``OUT/predictions/`` (MMPose's JSON with
``keypoint_sigmas`` in image pixels, and a CSV table: frame, image, instance, keypoint, x,
y, sigma_x, sigma_y, score). Boxes for top-down models: the whole image by default, the
ground-truth boxes of a COCO file (``--boxes``), the instances of a one-stage model
(``--boxes-from-one-stage CONFIG CHECKPOINT``, scoring above ``--bbox-thr``, at most
``--max-boxes``), or an MMDetection detector (``--det-config``/``--det-checkpoint``, as
MMPose's demos). A one-stage (bottom-up) CONFIG needs no boxes: it draws and lists its
instances scoring above ``--bbox-thr``. ``--smooth`` adds σ-aware RTS-smoothed coordinates
to the table of a video.
"""

import argparse
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, DictAction

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.apis import SigmaPoseInferencer, coco_box_source
from mmpose_rle.apis.boxes import BoxSource, one_stage_box_source


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The command line (``sys.argv`` when ``argv`` is ``None``)."""
    parser = argparse.ArgumentParser(description='keypoints with sigma (image pixels)')
    parser.add_argument('input', help='image, folder of images, video file or "webcam"')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights; random when omitted')
    parser.add_argument('--out-dir', default='infer_out')
    parser.add_argument('--boxes', help='COCO file whose boxes to use, matched by file name')
    parser.add_argument(
        '--boxes-from-one-stage',
        nargs=2,
        metavar=('CONFIG', 'CHECKPOINT'),
        help='a one-stage (bottom-up) model whose instances give the boxes',
    )
    parser.add_argument(
        '--max-boxes', type=int, help='most boxes per image of --boxes-from-one-stage'
    )
    parser.add_argument('--det-config', help='MMDetection config or model alias')
    parser.add_argument('--det-checkpoint', help='MMDetection weights')
    parser.add_argument('--det-cat-ids', type=int, nargs='+', default=[0])
    parser.add_argument(
        '--bbox-thr', type=float, default=0.3, help='score threshold of boxes and instances'
    )
    parser.add_argument('--smooth', action='store_true', help='add RTS-smoothed columns')
    parser.add_argument('--sigma-scale', type=float, default=2.0, help='ellipse semi-axes / σ')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    parser.add_argument('--show', action='store_true')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of CONFIG, e.g. model.test_cfg.score_thr=0.05',
    )
    return parser.parse_args(argv)


def box_source(args: argparse.Namespace) -> Optional[BoxSource]:
    """The box source of the command line: ``--boxes``, ``--boxes-from-one-stage`` or none."""
    if args.boxes and args.boxes_from_one_stage:
        raise SystemExit('give --boxes or --boxes-from-one-stage, not both')
    if args.boxes:
        return coco_box_source(args.boxes)
    if args.boxes_from_one_stage:
        config, checkpoint = args.boxes_from_one_stage
        return one_stage_box_source(
            config, checkpoint, args.bbox_thr, args.max_boxes, device=args.device
        )
    return None


def main(argv: Optional[List[str]] = None) -> None:
    """Run the inferencer on the input and print the start of the table."""
    args = parse_args(argv)
    config = args.config
    if args.cfg_options:
        config = Config.fromfile(args.config)
        config.merge_from_dict(args.cfg_options)
    inferencer = SigmaPoseInferencer(
        config,
        args.checkpoint,
        device=args.device,
        det_model=args.det_config or 'whole_image',
        det_weights=args.det_checkpoint,
        det_cat_ids=tuple(args.det_cat_ids),
        show_progress=True,
        box_source=box_source(args),
    )
    inferencer.visualizer.sigma_scale = args.sigma_scale
    for _ in inferencer(
        args.input,
        out_dir=args.out_dir,
        smooth=args.smooth,
        bbox_thr=args.bbox_thr,
        kpt_thr=args.kpt_thr,
        radius=args.radius,
        thickness=args.thickness,
        show=args.show,
        draw_bbox=True,
    ):
        pass
    table = inferencer.table
    print(table.head(12).to_string(index=False, float_format=lambda v: f'{v:.2f}'))
    print(f'{len(table)} rows; drawings in {osp.join(args.out_dir, "visualizations")}, ')
    print(f'predictions (JSON, CSV) in {osp.join(args.out_dir, "predictions")}')


if __name__ == '__main__':
    main()
