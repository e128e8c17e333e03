"""Export a top-down RLE model to ONNX and check it with ONNX Runtime.

``python tools/export_onnx.py CONFIG [--checkpoint CKPT] --out model.onnx [--batch N]
[--no-verify]``. The graph takes raw 0–255 crops ``(B, 3, H, W)`` in the data pipeline's
channel order (BGR for the COCO configs; mean/std are in the graph) and returns ``coords``
``(B, K, 2)`` in input pixels, ``sigmas`` ``(B, K, 2)`` (normalised σ̂) and ``scores``
``(B, K)``; see :mod:`mmpose_rle.apis.onnx_export`. Unless ``--no-verify``, it runs
``N + 1`` random crops (a batch size other than the traced one) through ONNX Runtime and
PyTorch, prints the max abs differences and exits with an error beyond ``--atol``.
"""

import argparse
import sys

from mmengine.config import DictAction

from mmpose_rle.apis.onnx_export import OnnxMismatchError, build_model, export_onnx, verify_onnx


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
        help='largest allowed max abs difference (coords in normalised units)',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.backbone.depth=18',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = build_model(args.config, args.checkpoint, cfg_options=args.cfg_options)
    out = export_onnx(model, args.out, batch_size=args.batch, opset_version=args.opset)
    w, h = model.head.decoder.input_size
    k = model.head.num_joints
    print(
        f'exported {out}: images (B,3,{h},{w}) raw 0-255 pixels -> coords (B,{k},2) '
        f'input pixels, sigmas (B,{k},2), scores (B,{k}), rms (B,{k},2) input pixels'
    )
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
        + f' (coords and rms in normalised units; tolerance {args.atol:g}): OK'
    )


if __name__ == '__main__':
    main()
