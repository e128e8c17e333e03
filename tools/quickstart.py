"""Quick start: generate a procedural data set, train RLE on the CPU, evaluate, draw σ.

``python tools/quickstart.py [--work-dir DIR] [--epochs N]``. Nothing is downloaded:
the data set is drawn by :mod:`mmpose_rle.datasets.synthetic` into a cache directory
(``$MMPOSE_RLE_CACHE``, default ``~/.cache/mmpose_rle``) and reused.
"""

import argparse
import os
import os.path as osp
import time

import mmcv
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.apis import inference_topdown

import mmpose_rle  # noqa: F401
from mmpose_rle.apis import draw_pose_with_sigmas, sigmas_in_image
from mmpose_rle.datasets import SyntheticFigures, generate_synthetic_figures
from mmpose_rle.engine import configure_training

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/quickstart/rle_res18_synthetic-64x64.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart')
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--epochs', type=int, help='override the number of epochs')
    parser.add_argument('--num-vis', type=int, default=8, help='images to draw')
    parser.add_argument(
        '--cache', default=os.environ.get('MMPOSE_RLE_CACHE', '~/.cache/mmpose_rle')
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    data_root = generate_synthetic_figures(osp.join(args.cache, 'data'), SyntheticFigures())
    print(f'[quickstart] data set: {data_root}', flush=True)
    os.environ['MMPOSE_RLE_DATA_ROOT'] = str(data_root)
    cfg = Config.fromfile(args.config)
    if args.epochs:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
        for scheduler in cfg.param_scheduler:
            if scheduler.type == 'MultiStepLR':
                scheduler.end = args.epochs
                scheduler.milestones = [int(args.epochs * 0.7), int(args.epochs * 0.9)]
    configure_training(cfg, args.config, work_dir=args.work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()

    vis_dir = osp.join(cfg.work_dir, 'vis')
    os.makedirs(vis_dir, exist_ok=True)
    model = runner.model.eval()
    dataset = runner.val_dataloader.dataset
    model.cfg, model.dataset_meta = cfg, dataset.metainfo  # what inference_topdown reads
    for i in range(min(args.num_vis, len(dataset))):
        info = dataset.get_data_info(i)  # CocoDataset keeps boxes as (1, 4) xyxy
        sample = inference_topdown(model, info['img_path'], info['bbox'], bbox_format='xyxy')[0]
        img = mmcv.imread(info['img_path'], channel_order='rgb')
        drawn = draw_pose_with_sigmas(
            img, sample, sigmas_in_image(sample), dataset.metainfo, scale=1.0
        )
        drawn = mmcv.imresize(drawn, (img.shape[1] * 3, img.shape[0] * 3))
        mmcv.imwrite(mmcv.rgb2bgr(drawn), osp.join(vis_dir, f'{i:03d}.png'))

    print(f'\n[quickstart] results on the validation split ({len(dataset)} figures, flip test):')
    for key in ('PCK', 'AUC', 'EPE', 'coco/AP', 'coco/AP .5'):
        if key in metrics:
            print(f'  {key:<11} {metrics[key]:.4f}')
    print(f'[quickstart] checkpoint: {runner.work_dir}/epoch_{cfg.train_cfg.max_epochs}.pth')
    print(f'[quickstart] predictions with 1-sigma ellipses: {vis_dir}/')
    print(f'[quickstart] total time: {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
