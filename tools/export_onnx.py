"""Export an RLE model (top-down or one-stage) to ONNX and check it with ONNX Runtime.

``python tools/export_onnx.py CONFIG [--checkpoint CKPT] --out model.onnx [--batch N]
[--no-verify]``. The graph takes raw 0–255 images ``(B, 3, H, W)`` in the data pipeline's
channel order (BGR for the COCO configs; mean/std are in the graph).

* Top-down (a head of the RLE family): crops at the codec's input size → ``coords``
  ``(B, K, 2)`` in input pixels, ``sigmas`` ``(B, K, 2)`` (normalised σ̂), ``scores``
  ``(B, K)`` and ``rms`` ``(B, K, 2)`` in input pixels; see
  :mod:`mmpose_rle.apis.onnx_export`.
* One-stage (``mmpose_rle.YOLOXPoseRLEHead``): letterboxed images at the test pipeline's
  input size → every prior's ``scores``, ``labels``, ``bboxes``, ``keypoints``,
  ``keypoint_scores``, ``keypoint_sigmas`` (input pixels) and ``bboxes_unclamped``, before
  selection: threshold and NMS with ``select_instances``; see
  :mod:`mmpose_rle.apis.onnx_one_stage`.

Unless ``--no-verify``, it runs ``N + 1`` random images (a batch size other than the traced
one) through ONNX Runtime and PyTorch, prints the max abs differences and exits with an
error beyond ``--atol``.
"""

import argparse
import sys

from mmengine.config import DictAction
from torch import nn

from mmpose_rle.apis.onnx_export import (
    OnnxMismatchError,
    build_model,
    export_onnx,
    is_one_stage,
    verify_onnx,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export an RLE model to ONNX')
    parser.add_argument('config', help='config file')
    parser.add_argument('--checkpoint', help='checkpoint (default: the initial weights)')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument(
        '--batch',
        type=int,
        default=1,
        help='batch size of the traced example (the batch axis is dynamic)',
    )
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (>= 13)')
    parser.add_argument('--no-verify', action='store_true', help='skip the ONNX Runtime check')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-4,
        help='largest allowed max abs difference (pixel outputs in normalised units)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.backbone.depth=18',
    )
    return parser.parse_args()


def describe(model: nn.Module) -> str:
    """The graph's input and outputs with their shapes, for the log."""
    if is_one_stage(model):
        from mmpose_rle.apis.onnx_one_stage import one_stage_input_size

        (w, h), k = one_stage_input_size(model), model.head.num_keypoints
        return (
            f'images (B,3,{h},{w}) raw 0-255 pixels -> per prior (N), before selection: '
            f'scores (B,N), labels (B,N), bboxes (B,N,4), keypoints (B,N,{k},2), '
            f'keypoint_scores (B,N,{k}), keypoint_sigmas (B,N,{k},2) input pixels, '
            'bboxes_unclamped (B,N,4); select instances with '
            "mmpose_rle.apis.onnx_one_stage.select_instances (the metadata's test_cfg)"
        )
    w, h = model.head.decoder.input_size
    k = model.head.num_joints
    return (
        f'images (B,3,{h},{w}) raw 0-255 pixels -> coords (B,{k},2) '
        f'input pixels, sigmas (B,{k},2), scores (B,{k}), rms (B,{k},2) input pixels'
    )


def main() -> None:
    args = parse_args()
    model = build_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    out = export_onnx(model, args.out, batch_size=args.batch, opset_version=args.opset)
    print(f'exported {out}: {describe(model)}')
    if args.no_verify:
        return
    batch = args.batch + 1
    try:
        diffs = verify_onnx(model, out, batch_size=batch, atol=args.atol)
    except OnnxMismatchError as err:
        sys.exit(f'verification FAILED: {err}')
    print(
        f'onnxruntime vs PyTorch, batch {batch}, max abs difference: '
        + ' '.join(f'{name} {value:.3g}' for name, value in diffs.items())
        + f' (pixel outputs in normalised units; tolerance {args.atol:g}): OK'
    )


if __name__ == '__main__':
    main()
