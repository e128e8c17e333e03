"""Predict keypoints with σ ellipses on one image.

``python tools/demo.py IMAGE CONFIG CHECKPOINT [--bbox X1 Y1 X2 Y2] [--out OUT.png]``.
Without ``--bbox`` the whole image is the box. Prints every keypoint's coordinates, score
and σ (image pixels) and writes the drawing (MMPose's visualizer plus σ ellipses).
"""

import argparse

import mmcv
import numpy as np
from mmpose.apis import inference_topdown

from mmpose_rle.apis import draw_pose_with_sigmas, init_rle_model, sigmas_in_image


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='RLE demo with sigma ellipses')
    parser.add_argument('image')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--bbox', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'))
    parser.add_argument('--out', default='demo_out.png')
    parser.add_argument(
        '--sigma-scale', type=float, default=2.0, help='ellipse semi-axes in units of sigma'
    )
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = init_rle_model(args.config, args.checkpoint, device=args.device)
    bboxes = None if args.bbox is None else np.array([args.bbox], dtype=np.float32)
    sample = inference_topdown(model, args.image, bboxes, bbox_format='xyxy')[0]
    sigmas = sigmas_in_image(sample)
    names = [
        model.dataset_meta['keypoint_id2name'][i]
        for i in range(sample.pred_instances.keypoints.shape[1])
    ]
    print(f'{"keypoint":<16}{"x":>9}{"y":>9}{"score":>8}{"sigma_x":>9}{"sigma_y":>9}')
    for name, (x, y), score, (sx, sy) in zip(
        names,
        sample.pred_instances.keypoints[0],
        sample.pred_instances.keypoint_scores[0],
        sigmas[0],
    ):
        print(f'{name:<16}{x:9.1f}{y:9.1f}{score:8.3f}{sx:9.2f}{sy:9.2f}')
    img = mmcv.imread(args.image, channel_order='rgb')
    drawn = draw_pose_with_sigmas(img, sample, sigmas, model.dataset_meta, scale=args.sigma_scale)
    mmcv.imwrite(mmcv.rgb2bgr(drawn), args.out)
    print(f'drawing written to {args.out}')


if __name__ == '__main__':
    main()
