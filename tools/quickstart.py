"""Quick start: generate a procedural data set, train RLE on the CPU, evaluate, draw σ.

``python tools/quickstart.py [--one-stage] [--work-dir DIR] [--epochs N] [--seed S]
[--out DIR]``. Nothing is downloaded: the data set is drawn by
:mod:`mmpose_rle.datasets.synthetic` into a cache directory (``$MMPOSE_RLE_CACHE``, default
``~/.cache/mmpose_rle``) and reused.

Two set-ups (:data:`SETUPS`), one code path:

* top-down (default): single figures, ``configs/quickstart/rle_res18_synthetic-64x64.py``
  (ResNet-18 + RLE head, 64×64, 30 epochs), drawn on the ground-truth boxes, into
  ``work_dirs/quickstart``;
* ``--one-stage``: procedural crowds (:mod:`mmpose_rle.datasets.synthetic_crowds`),
  ``configs/one_stage/yoloxpose-rle_tiny_crowds-192.py`` (YOLOX-Pose-tiny with the RLE head,
  192×192) for :data:`ONE_STAGE_EPOCHS` epochs (about 10 minutes on 2 CPU cores), COCO AP of
  the config's evaluator, every instance above ``--vis-thr`` drawn, into
  ``work_dirs/quickstart_one_stage``.

The run is a pure function of ``--seed`` on a given machine: the model's initialisation
comes from MMEngine's ``randomness.seed``, and every training sample and step is seeded
from it (:func:`~mmpose_rle.engine.configure_training`). CPU kernels may sum in another
order with another number of threads, so ``results.json`` records the thread count too.

Written to ``--out`` (default: the work dir):

* ``results.json`` — ``metrics`` (the validation metrics), ``command`` (this command
  line), ``seed``, ``config``, ``data`` (the data set's cache name), ``epochs``,
  ``flip_test`` (whether the model predicted with flip test), ``threads``, ``versions``
  (Python, torch, MMEngine, MMCV, MMPose, this package), ``git`` (commit and whether the
  tree had changes), ``date`` (UTC, ISO 8601), ``train_time`` and ``total_time`` (s);
* ``results.md`` — the same metrics as a table, with the command that made it.

The work dir also holds the checkpoints, ``vis/`` (validation images with every predicted
instance and its 1σ ellipses) and ``predictions/`` (their predictions with
``keypoint_sigmas`` in image pixels: one JSON per image and ``predictions.csv``).
"""

import argparse
import datetime
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import mmcv
import mmengine
import mmpose
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmpose_rle
from mmpose_rle.apis import SigmaPoseInferencer, coco_box_source
from mmpose_rle.benchmark.report import markdown, summarise, write_results
from mmpose_rle.datasets import (
    SyntheticCrowds,
    SyntheticFigures,
    generate_synthetic_crowds,
    generate_synthetic_figures,
)
from mmpose_rle.engine import configure_training

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs/quickstart/rle_res18_synthetic-64x64.py')
ONE_STAGE_CONFIG = osp.join(ROOT, 'configs/one_stage/yoloxpose-rle_tiny_crowds-192.py')
#: Epochs of ``--one-stage`` without ``--epochs``: about 10 minutes on 2 CPU cores.
ONE_STAGE_EPOCHS = 10
#: The metrics printed at the end (all of the evaluator's go to ``results.json``).
PRINTED = ('PCK', 'AUC', 'EPE', 'coco/AP', 'coco/AP .5')


@dataclass(frozen=True)
class Setup:
    """What a quick-start mode trains, and on what.

    Attributes:
        config (str): The default config.
        work_dir (str): The default work dir.
        data_env (str): The environment variable the config reads its data root from.
        generate (Callable[[str], Path]): Generates (or reuses) the data set under a cache
            folder and returns its folder.
        epochs (int, optional): The default epochs; the config's when ``None``.
        options (dict): Config settings applied before ``--cfg-options``.
    """

    config: str
    work_dir: str
    data_env: str
    generate: Callable[[str], Path]
    epochs: Optional[int] = None
    options: Dict[str, object] = field(default_factory=dict)


#: The set-ups, by ``--one-stage``.
SETUPS = {
    False: Setup(
        CONFIG,
        'work_dirs/quickstart',
        'MMPOSE_RLE_DATA_ROOT',
        lambda cache: generate_synthetic_figures(cache, SyntheticFigures()),
    ),
    True: Setup(
        ONE_STAGE_CONFIG,
        'work_dirs/quickstart_one_stage',
        'MMPOSE_RLE_CROWDS_ROOT',
        lambda cache: generate_synthetic_crowds(cache, SyntheticCrowds()),
        ONE_STAGE_EPOCHS,
        {'default_hooks.logger.interval': 5},  # 15 iterations an epoch
    ),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The command line, with the defaults of its set-up (:data:`SETUPS`) filled in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--one-stage',
        action='store_true',
        help='train the one-stage YOLOX-Pose RLE model on procedural crowds',
    )
    parser.add_argument('--work-dir', help='default: work_dirs/quickstart[_one_stage]')
    parser.add_argument('--config', help="default: the set-up's config")
    parser.add_argument('--epochs', type=int, help='override the number of epochs')
    parser.add_argument('--seed', type=int, default=0, help='randomness.seed of the training')
    parser.add_argument(
        '--out', help='folder for results.json and results.md (default: the work dir)'
    )
    parser.add_argument('--num-vis', type=int, default=8, help='images to draw')
    parser.add_argument(
        '--vis-thr',
        type=float,
        default=0.3,
        help="instance score above which a one-stage model's instances are drawn",
    )
    parser.add_argument(
        '--cache', default=os.environ.get('MMPOSE_RLE_CACHE', '~/.cache/mmpose_rle')
    )
    parser.add_argument(
        '--data-root', help='an existing data set in the same layout (nothing is generated)'
    )
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override config settings'
    )
    args = parser.parse_args(argv)
    setup = SETUPS[args.one_stage]
    args.config = args.config or setup.config
    args.work_dir = args.work_dir or setup.work_dir
    args.epochs = args.epochs or setup.epochs
    return args


def build_config(args: argparse.Namespace) -> Config:
    """The config with the data root, epochs, seed and ``--cfg-options`` applied.

    Args:
        args (argparse.Namespace): The parsed command line; the set-up's data variable
            (``$MMPOSE_RLE_DATA_ROOT`` or ``$MMPOSE_RLE_CROWDS_ROOT``) must already name
            the data set.

    Returns:
        Config: ``args.config`` with ``randomness.seed = args.seed`` and the set-up's
        options (before ``--cfg-options``), prepared by
        :func:`~mmpose_rle.engine.configure_training`.
        With ``args.epochs``, validation runs once at the end, the epoch-based schedules
        (step milestones at 70 % and 90 %, cosine period) span the new length, and a
        shorter run's warm-up (iterations) shrinks in proportion.
    """
    cfg = Config.fromfile(args.config)  # reads the data root's variable
    if args.epochs:
        shrink = min(1.0, args.epochs / cfg.train_cfg.max_epochs)
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
        for scheduler in cfg.param_scheduler:
            if scheduler.type == 'LinearLR' and not scheduler.get('by_epoch', True):
                scheduler.end = max(1, round(scheduler.end * shrink))
            elif scheduler.type == 'MultiStepLR':
                scheduler.end = args.epochs
                scheduler.milestones = [int(args.epochs * 0.7), int(args.epochs * 0.9)]
            elif scheduler.type == 'CosineAnnealingLR' and scheduler.get('by_epoch', True):
                scheduler.T_max = args.epochs
    cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    cfg.merge_from_dict(SETUPS[args.one_stage].options)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return configure_training(cfg, args.config, work_dir=args.work_dir)


def draw_predictions(cfg: Config, checkpoint: str, num: int, score_thr: float = 0.3) -> str:
    """Draw the first ``num`` validation images with 1σ ellipses into ``<work dir>/vis``
    and write their predictions into ``<work dir>/predictions``, through
    :class:`~mmpose_rle.apis.SigmaPoseInferencer`.

    A top-down model predicts on the images' ground-truth boxes; a one-stage (bottom-up)
    model finds the instances itself, and those scoring above ``score_thr`` are drawn
    (MMPose's inferencer sets the model's score threshold to ``bbox_thr``, and its NMS
    threshold to ``nms_thr``, here the config's).

    Args:
        cfg (Config): The trained config (its work dir and validation data set).
        checkpoint (str): The weights.
        num (int): How many validation images.
        score_thr (float): Instance score threshold of a bottom-up model's drawing.

    Returns:
        str: The folder of the drawings.
    """
    vis_dir = osp.join(cfg.work_dir, 'vis')
    data = cfg.val_dataloader.dataset
    ann_file = osp.join(data.data_root, data.ann_file)
    names = [img['file_name'] for img in mmengine.load(ann_file)['images'][:num]]
    topdown = cfg.get('data_mode', 'topdown') == 'topdown'
    inferencer = SigmaPoseInferencer(
        cfg, checkpoint, device='cpu', box_source=coco_box_source(ann_file) if topdown else None
    )
    images = [osp.join(data.data_root, data.data_prefix['img'], name) for name in names]
    pred_dir = osp.join(cfg.work_dir, 'predictions')
    nms_thr = cfg.model.get('test_cfg', {}).get('nms_thr', 0.3)
    drawing = dict(kpt_thr=0.0, radius=2, bbox_thr=score_thr, nms_thr=nms_thr)
    for _ in inferencer(images, vis_out_dir=vis_dir, pred_out_dir=pred_dir, **drawing):
        pass
    return vis_dir


def _flip_test(cfg: Config) -> bool:
    """Whether the model predicts with flip test (as its ``test_cfg`` says)."""
    return bool(cfg.model.get('test_cfg', {}).get('flip_test', False))


def _git() -> Dict[str, object]:
    """The repository's commit and whether its tracked files had changes (None outside git)."""

    def git(*cmd: str) -> Optional[str]:
        try:
            out = subprocess.run(['git', *cmd], cwd=ROOT, capture_output=True, text=True)
        except OSError:
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git('rev-parse', 'HEAD')
    status = git('status', '--porcelain', '--untracked-files=no') if commit else None
    return dict(commit=commit, dirty=None if status is None else bool(status))


def provenance(cfg: Config, argv: List[str], data_root: str) -> Dict[str, object]:
    """What made the results: command line, seed, config, data, threads, versions, date.

    Args:
        cfg (Config): The config the runner was built from.
        argv (list[str]): The command-line arguments (without the program).
        data_root (str): The data set's folder; its name (the generator's cache key) is kept.

    Returns:
        dict: The fields of ``results.json`` listed in the module docstring, but the
        metrics and times.
    """
    return dict(
        command=shlex.join(['python', osp.relpath(osp.abspath(__file__), ROOT), *argv]),
        seed=cfg.randomness.seed,
        config=osp.relpath(osp.abspath(cfg.filename), ROOT),
        data=osp.basename(osp.normpath(data_root)),
        epochs=cfg.train_cfg.max_epochs,
        flip_test=_flip_test(cfg),
        threads=torch.get_num_threads(),
        versions=dict(
            python=platform.python_version(),
            torch=torch.__version__,
            mmengine=mmengine.__version__,
            mmcv=mmcv.__version__,
            mmpose=mmpose.__version__,
            mmpose_rle=mmpose_rle.__version__,
        ),
        git=_git(),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
    )


def save_results(out_dir: str, metrics: Dict[str, float], record: Dict[str, object]) -> str:
    """Write ``results.json`` and ``results.md`` into ``out_dir`` (created if needed,
    :func:`~mmpose_rle.benchmark.report.write_results`).

    Args:
        out_dir (str): The folder.
        metrics (dict[str, float]): The evaluator's metrics.
        record (dict): :func:`provenance` with ``train_time`` and ``total_time``.

    Returns:
        str: The path of ``results.json`` (``record`` and ``metrics``); ``results.md`` holds
        the table of :func:`~mmpose_rle.benchmark.report.markdown` under the command.
    """
    metrics = {k: float(v) for k, v in metrics.items()}
    name = f'{osp.basename(record["config"])}, seed {record["seed"]}'
    table = markdown(
        {name: dict(accuracy=summarise([dict(metrics, train_time=record['train_time'])]))}
    )
    versions = ', '.join(f'{k} {v}' for k, v in record['versions'].items())
    text = (
        f'Generated by `{record["command"]}` on {record["date"]} '
        f'({record["threads"]} threads; {versions}); the validation split, '
        f'flip test {"on" if record["flip_test"] else "off"}.\n\n' + table
    )
    return write_results(out_dir, dict(record, metrics=metrics), text)['json']


def main(argv: Optional[List[str]] = None) -> None:
    """Generate the data, train, evaluate, draw and save (module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    setup = SETUPS[args.one_stage]
    start = time.time()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    data_root = args.data_root or setup.generate(osp.join(args.cache, 'data'))
    print(f'[quickstart] data set: {data_root}', flush=True)
    os.environ[setup.data_env] = str(data_root)
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)
    train_start = time.time()
    runner.train()
    train_time = time.time() - train_start
    metrics = runner.val_loop.run()
    checkpoint = osp.join(runner.work_dir, f'epoch_{cfg.train_cfg.max_epochs}.pth')
    vis_dir = draw_predictions(cfg, checkpoint, args.num_vis, args.vis_thr)

    record = provenance(cfg, argv, str(data_root))
    record.update(train_time=train_time, total_time=time.time() - start)
    results = save_results(args.out or cfg.work_dir, metrics, record)
    flip = 'flip test' if record['flip_test'] else 'no flip test'
    print(f'\n[quickstart] results on the validation split ({flip}, seed {record["seed"]}):')
    for key in PRINTED:
        if key in metrics:
            print(f'  {key:<11} {metrics[key]:.4f}')
    print(f'[quickstart] written: {results} and results.md beside it')
    print(f'[quickstart] checkpoint: {checkpoint}')
    print(f'[quickstart] predictions with 1-sigma ellipses: {vis_dir}/')
    print(f'[quickstart] total time: {record["total_time"]:.0f} s')


if __name__ == '__main__':
    main()
