"""Convert a checkpoint of the official RLE code for mmpose_rle.

``python tools/convert_official_checkpoint.py SRC DST [--config CONFIG [--cfg-options ...]]``.
SRC is a ``RegressFlow`` checkpoint of github.com/Jeff-sjtu/res-loglikelihood-regression (raw
or wrapped state dict, with or without ``module.``); DST is an MMEngine checkpoint for a
``TopdownPoseEstimator`` with ``OfficialRLEHead``, e.g. the config
``td-reg_res50_rle-official-8xb32-coco-256x192.py`` in
``configs/body_2d_keypoint/topdown_regression/coco/``.
The tool prints the architecture, the ``--cfg-options`` that fit it and the data preprocessor
that reproduces the official input normalisation (also stored in DST's ``meta``). With
``--config`` it builds that model and loads DST strictly. See
:mod:`mmpose_rle.apis.convert_official` for the mapping.
"""

import argparse
import sys

from mmengine.config import DictAction
from mmpose.apis import init_model

import mmpose_rle  # noqa: F401  (registers the parts)
from mmpose_rle.apis.convert_official import (
    convert_official_checkpoint,
    load_strictly,
    official_data_preprocessor,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert an official RLE checkpoint')
    parser.add_argument('src', help='checkpoint of the official RLE code')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument('--config', help='build this config and load DST strictly')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.backbone.depth=101',
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        meta, state = convert_official_checkpoint(args.src, args.dst)
    except (KeyError, ValueError, TypeError) as err:
        sys.exit(f'cannot convert {args.src}: {err.args[0] if err.args else err}')
    depth = meta['depth'] if meta['depth'] is not None else 'unknown'
    print(
        f'converted {args.src} -> {args.dst}: ResNet depth {depth}, '
        f'in_channels {meta["in_channels"]}, {meta["num_joints"]} keypoints, '
        f'fc_coord bias shifted by +{meta["coord_bias_shift"]}'
    )
    print('cfg options: ' + ' '.join(f'{k}={v}' for k, v in meta['cfg_options'].items()))
    print(f'data_preprocessor: {official_data_preprocessor()}')
    if args.config is None:
        return
    model = init_model(args.config, device='cpu', cfg_options=args.cfg_options)
    try:
        load_strictly(model, state)
    except ValueError as err:
        sys.exit(str(err))
    pre = model.cfg.model.data_preprocessor
    expected = official_data_preprocessor()
    same = (
        list(pre.get('mean', [])) == expected['mean']
        and list(pre.get('std', [])) == expected['std']
        and bool(pre.get('bgr_to_rgb')) == expected['bgr_to_rgb']
    )
    print(f'loaded strictly into {args.config}: OK')
    if not same:
        print(
            f"WARNING: the config's data_preprocessor {dict(pre)} is not the official "
            'input normalisation printed above'
        )


if __name__ == '__main__':
    main()
