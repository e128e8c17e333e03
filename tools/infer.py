"""Keypoints with σ for an image, a folder, a video or a webcam (MMPose's inferencer + σ).

``python tools/infer.py INPUT CONFIG CHECKPOINT --out-dir OUT``, INPUT an image, a folder
of images, a video file or ``webcam``. Writes ``OUT/visualizations/`` (MMPose's drawing
with σ ellipses; a video for a video) and ``OUT/predictions/`` (MMPose's JSON with
``keypoint_sigmas`` in image pixels, and a CSV table: frame, image, instance, keypoint, x,
y, sigma_x, sigma_y, score). Boxes for top-down models: the whole image by default, the
ground-truth boxes of a COCO file (``--boxes``), or an MMDetection detector
(``--det-config``/``--det-checkpoint``, as MMPose's demos). ``--smooth`` adds σ-aware
RTS-smoothed coordinates to the table of a video.
"""

import argparse
import os.path as osp

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.apis import SigmaPoseInferencer, coco_box_source


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='keypoints with sigma (image pixels)')
    parser.add_argument('input', help='image, folder of images, video file or "webcam"')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?', help='weights; random when omitted')
    parser.add_argument('--out-dir', default='infer_out')
    parser.add_argument('--boxes', help='COCO file whose boxes to use, matched by file name')
    parser.add_argument('--det-config', help='MMDetection config or model alias')
    parser.add_argument('--det-checkpoint', help='MMDetection weights')
    parser.add_argument('--det-cat-ids', type=int, nargs='+', default=[0])
    parser.add_argument('--bbox-thr', type=float, default=0.3)
    parser.add_argument('--smooth', action='store_true', help='add RTS-smoothed columns')
    parser.add_argument('--sigma-scale', type=float, default=2.0, help='ellipse semi-axes / σ')
    parser.add_argument('--kpt-thr', type=float, default=0.3)
    parser.add_argument('--radius', type=int, default=3)
    parser.add_argument('--thickness', type=int, default=1)
    parser.add_argument('--show', action='store_true')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    inferencer = SigmaPoseInferencer(
        args.config,
        args.checkpoint,
        device=args.device,
        det_model=args.det_config or 'whole_image',
        det_weights=args.det_checkpoint,
        det_cat_ids=tuple(args.det_cat_ids),
        show_progress=True,
        box_source=coco_box_source(args.boxes) if args.boxes else None,
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
