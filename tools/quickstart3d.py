"""3-D quick start: procedural skeletons, RLE lifting against MMPose's MSE head, σ in mm.

``python tools/quickstart3d.py [--work-dir DIR] [--epochs N] [--outlier-rate R] [--temporal]``

Nothing is downloaded: :mod:`mmpose_rle.datasets.synthetic3d` draws 3-D skeletons, projects
them through random cameras and corrupts the 2-D input with noise and gross outliers, in
the files MMPose's Human3.6M lifting configs read (cached under ``$MMPOSE_RLE_CACHE``,
default ``~/.cache/mmpose_rle``). Both heads are trained on the same TCN with
``python -m mmpose_rle.cli.train`` (configs in ``configs/quickstart3d``), tested with
MMPose's MPJPE metric, and RLE's σ is checked against the errors: coverage at 1σ and 2σ,
and Spearman ρ(σ, error), raw and after a temperature fitted on held-out videos. Finally
the RLE head's σ calibration is fitted on the validation split and the calibrated model is
saved (``rle/calibrated.pth``), with its σ per joint in millimetres.
"""

import argparse
import os
import os.path as osp
import time

import numpy as np
import torch
from mmengine.runner import save_checkpoint

import mmpose_rle  # noqa: F401
from mmpose_rle.benchmark.lifting import evaluate_lifting, lifting_env, make_test_runner
from mmpose_rle.benchmark.lifting_variants import write_variant_config
from mmpose_rle.benchmark.training import train_variant
from mmpose_rle.calibration import calibrate_model
from mmpose_rle.datasets import JOINTS, SyntheticLifting, generate_synthetic_lifting

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/quickstart3d')
    parser.add_argument('--epochs', type=int, default=15)
    parser.add_argument('--outlier-rate', type=float, default=0.15)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--temporal', action='store_true', help='27-frame TCN instead of 1')
    parser.add_argument(
        '--cache', default=os.environ.get('MMPOSE_RLE_CACHE', '~/.cache/mmpose_rle')
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.time()
    torch.set_num_threads(1)  # small models: one thread is fastest, above all on a busy CPU
    params = SyntheticLifting(outlier_rate=args.outlier_rate, seed=args.seed)
    data_root = generate_synthetic_lifting(osp.join(args.cache, 'data'), params)
    print(f'[quickstart3d] data: {data_root}', flush=True)
    results = {}
    for head in ('mse', 'rle'):
        config = write_variant_config(
            head, osp.join(ROOT, 'configs/quickstart3d'), args.temporal, args.work_dir
        )
        work_dir = osp.join(args.work_dir, head)
        print(f'[quickstart3d] training {osp.basename(config)} ...', flush=True)
        run = train_variant(config, work_dir, args.seed, args.epochs, env=lifting_env(data_root))
        runner = make_test_runner(config, run['checkpoint'], str(data_root), work_dir)
        results[head], predictions = evaluate_lifting(runner)
        results[head]['train_time'] = run['train_time']

    print(f'\n[quickstart3d] validation, {args.epochs} epochs, outlier rate {args.outlier_rate}:')
    print(f'  {"head":<5} {"MPJPE":>8} {"P-MPJPE":>8} {"N-MPJPE":>8} (mm)  train time')
    for head, r in results.items():
        print(
            f'  {head:<5} {r["mpjpe"]:8.1f} {r["p_mpjpe"]:8.1f} {r["n_mpjpe"]:8.1f}'
            f'        {r["train_time"]:.0f} s'
        )
    r = results['rle']
    print('  RLE σ (non-root joints, per coordinate):')
    print(f'    {"":<22} {"≤1σ":>6} {"≤2σ":>6} {"ρ(σ, error)":>12}')
    print(f'    {"nominal (Laplace)":<22} {r["nominal_1sigma"]:6.3f} {r["nominal_2sigma"]:6.3f}')
    for name, label in (('raw', 'raw'), ('heldout', 'calibrated, held-out')):
        print(
            f'    {label:<22} {r[f"{name}_within_1sigma"]:6.3f} '
            f'{r[f"{name}_within_2sigma"]:6.3f} {r[f"{name}_sigma_error_spearman"]:12.3f}'
        )

    # fit the head's σ map on all of the validation split (in the units of the head's map,
    # without the root the codec pins to the origin)
    head = runner.model.head
    calibrate_model(runner.model, runner.test_dataloader, kind='temperature')
    path = osp.join(args.work_dir, 'rle', 'calibrated.pth')
    save_checkpoint(dict(state_dict=runner.model.state_dict()), path)
    sigma = predictions['sigmas'] * np.exp(head.sigma_calibration.log_scale.numpy())
    rms = np.sqrt((predictions['errors'] ** 2).mean(0))
    print('\n  joint            mean σ (mm), calibrated   RMS error (mm)   (x, y, z)')
    for k, name in enumerate(JOINTS[1:], start=1):
        s, e = sigma[:, k].mean(0), rms[k]
        cells = ' '.join(f'{v:6.1f}' for v in s) + '      ' + ' '.join(f'{v:6.1f}' for v in e)
        print(f'  {name:<16} {cells}')
    print(f'\n[quickstart3d] calibrated RLE checkpoint: {path}')
    print(f'[quickstart3d] total time: {time.time() - start:.0f} s')


if __name__ == '__main__':
    main()
