"""tools/quickstart.py: ``--out`` writes the metrics and what made them; ``--seed`` fixes them;
``--one-stage`` trains, evaluates and draws the one-stage RLE model on procedural crowds."""

import dataclasses
import datetime
import json
import math
import os
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import List

import cv2
import mmpose
import numpy as np
import pytest
import torch

from mmpose_rle.datasets import SyntheticCrowds, generate_synthetic_crowds
from tests.helpers import ROOT, TINY_OPTIONS, load_tool, run_tool

METRICS = ('PCK', 'AUC', 'EPE', 'coco/AP')
TOPDOWN = 'configs/quickstart/rle_res18_synthetic-64x64.py'
ONE_STAGE = 'configs/one_stage/yoloxpose-rle_tiny_crowds-192.py'
#: --cfg-options that shrink the one-stage quick start to a few iterations; an untrained
#: model scores every prior near 1e-4, so the score threshold goes and the top 8 are kept.
TINY_ONE_STAGE = [
    'train_dataloader.batch_size=4',
    'val_dataloader.batch_size=4',
    'model.test_cfg.score_thr=0.0',
    'model.test_cfg.nms_pre=8',
    'default_hooks.logger.interval=1',
]


@pytest.fixture(scope='module')
def tiny_crowds(tmp_path_factory) -> Path:
    """A small procedural crowd set (8 train / 3 val images of 2-3 figures)."""
    params = SyntheticCrowds(
        num_train=8, num_val=3, image_size=96, min_figures=2, max_figures=3, seed=2
    )
    return generate_synthetic_crowds(str(tmp_path_factory.mktemp('crowds')), params, False)


def _check_results(
    out: Path, args: List[str], seed: int, epochs: int, since, config: str = TOPDOWN
) -> dict:
    """The provenance in ``results.json`` against what the test knows; returns the metrics."""
    results = json.loads((out / 'results.json').read_text())
    assert results['command'] == shlex.join(['python', 'tools/quickstart.py', *args])
    assert results['seed'] == seed and results['epochs'] == epochs
    assert results['config'] == config
    assert results['flip_test'] == (config == TOPDOWN)
    assert results['versions']['torch'] == torch.__version__
    assert results['versions']['mmpose'] == mmpose.__version__
    date = datetime.datetime.fromisoformat(results['date'])
    assert since - datetime.timedelta(seconds=1) <= date <= datetime.datetime.now(date.tzinfo)
    assert 0 <= results['train_time'] <= results['total_time']
    metrics = results['metrics']
    table = (out / 'results.md').read_text()
    assert results['command'] in table
    assert f'{metrics["coco/AP"]:.3f}' in table
    assert f'flip test {"on" if results["flip_test"] else "off"}' in table
    if config == TOPDOWN:
        assert f'{metrics["PCK"]:.3f}' in table and f'{metrics["EPE"]:.2f}' in table
    return metrics


def _mocked_main(tool, monkeypatch, tmp_path: Path, args: List[str], metrics: dict) -> dict:
    """Run ``tool.main(args)`` with the runner and the drawing mocked: the validation returns
    ``metrics``. Returns the config the runner was built from and the drawing's arguments."""
    built = {}

    def from_cfg(cfg):
        built['cfg'] = cfg
        val_loop = SimpleNamespace(run=lambda: dict(metrics))
        return SimpleNamespace(train=lambda: None, val_loop=val_loop, work_dir=cfg.work_dir)

    def draw(cfg, checkpoint, num, thr):
        built['draw'] = (checkpoint, num, thr)
        return str(tmp_path)

    monkeypatch.setattr(tool.Runner, 'from_cfg', staticmethod(from_cfg))
    monkeypatch.setattr(tool, 'draw_predictions', draw)
    monkeypatch.setattr(torch, 'set_num_threads', lambda n: None)  # keep pytest's threads
    for name in ('MMPOSE_RLE_DATA_ROOT', 'MMPOSE_RLE_CROWDS_ROOT'):  # restored afterwards
        monkeypatch.setenv(name, '')
    tool.main(args)
    return built


def test_out_writes_the_evaluators_metrics_and_the_seed_reaches_the_config(
    tiny_figures, tmp_path, monkeypatch
):
    """Training mocked: the metrics the validation returns land in ``results.json``, and
    the runner is built from a config with the seed and epochs of the command line."""
    tool = load_tool('quickstart')
    metrics = {'PCK': 0.25, 'AUC': 0.5, 'EPE': 7.125, 'coco/AP': 0.375, 'coco/AP .5': 0.625}
    out = tmp_path / 'out'
    args = ['--data-root', str(tiny_figures), '--work-dir', str(tmp_path / 'work')]
    args += ['--out', str(out), '--epochs', '2', '--seed', '5']
    since = datetime.datetime.now(datetime.timezone.utc)
    built = _mocked_main(tool, monkeypatch, tmp_path, args, metrics)

    assert built['cfg'].randomness.seed == 5 and built['cfg'].train_cfg.max_epochs == 2
    warmup, steps = built['cfg'].param_scheduler  # 50 of 30 epochs' iterations: 2/30 of it
    assert warmup.end == 3 and steps.milestones == [1, 1] and steps.end == 2
    assert built['draw'][0] == str(tmp_path / 'work' / 'epoch_2.pth')
    assert _check_results(out, args, seed=5, epochs=2, since=since) == metrics


def test_the_default_is_the_top_down_quick_start_and_one_stage_has_its_own_defaults():
    tool = load_tool('quickstart')
    args = tool.parse_args([])
    assert not args.one_stage and args.config == str(ROOT / TOPDOWN)
    assert args.work_dir == 'work_dirs/quickstart' and args.epochs is None
    one = tool.parse_args(['--one-stage'])
    assert one.config == str(ROOT / ONE_STAGE) and one.work_dir == 'work_dirs/quickstart_one_stage'
    assert one.epochs == tool.ONE_STAGE_EPOCHS
    assert tool.parse_args(['--one-stage', '--epochs', '3', '--work-dir', 'w']).epochs == 3
    assert tool.parse_args(['--one-stage', '--config', 'c.py']).config == 'c.py'


def test_one_stage_generates_crowds_and_trains_the_rle_config(tmp_path, monkeypatch):
    """Training mocked: ``--one-stage`` generates the crowds into the cache, points the
    config's ``$MMPOSE_RLE_CROWDS_ROOT`` at them, shortens the cosine schedule with the
    epochs and writes the COCO metrics with flip test off."""
    tool = load_tool('quickstart')
    made = []

    def generate(cache):
        made.append(cache)
        return generate_synthetic_crowds(cache, SyntheticCrowds(num_train=2, num_val=1), False)

    setup = dataclasses.replace(tool.SETUPS[True], generate=generate)
    monkeypatch.setitem(tool.SETUPS, True, setup)
    metrics = {'coco/AP': 0.25, 'coco/AP .5': 0.5, 'coco/AR': 0.375}
    out = tmp_path / 'out'
    args = ['--one-stage', '--cache', str(tmp_path / 'cache'), '--out', str(out)]
    args += ['--work-dir', str(tmp_path / 'work'), '--vis-thr', '0.25']
    since = datetime.datetime.now(datetime.timezone.utc)
    built = _mocked_main(tool, monkeypatch, tmp_path, args, metrics)

    assert made == [str(tmp_path / 'cache' / 'data')]
    cfg = built['cfg']
    root = os.environ['MMPOSE_RLE_CROWDS_ROOT']
    assert Path(root).parent == tmp_path / 'cache' / 'data' and Path(root, 'DONE').exists()
    assert cfg.val_dataloader.dataset.data_root == root + '/'
    assert cfg.model.head.type == 'mmpose_rle.YOLOXPoseRLEHead'
    epochs = tool.ONE_STAGE_EPOCHS
    assert cfg.train_cfg.max_epochs == cfg.train_cfg.val_interval == epochs
    warmup, cosine = cfg.param_scheduler
    assert cosine.T_max == epochs and warmup.end == round(100 * epochs / 40)
    assert cfg.default_hooks.logger.interval == 5
    assert built['draw'] == (str(tmp_path / 'work' / f'epoch_{epochs}.pth'), 8, 0.25)
    got = _check_results(out, args, seed=0, epochs=epochs, since=since, config=ONE_STAGE)
    assert got == metrics
    assert json.loads((out / 'results.json').read_text())['data'] == Path(root).name


def _run(tiny_figures: Path, tmp: Path, seed: int) -> List[str]:
    """Run a one-epoch quick start on the tiny data set; returns its arguments."""
    args = ['--data-root', str(tiny_figures), '--work-dir', str(tmp / 'work')]
    args += ['--out', str(tmp / 'out'), '--epochs', '1', '--seed', str(seed), '--num-vis', '1']
    args += ['--cfg-options', *[o for o in TINY_OPTIONS if not o.startswith('randomness.')]]
    run_tool(['tools/quickstart.py', *args])
    return args


@pytest.mark.slow
def test_tiny_run_writes_metrics_same_seed_same_metrics(tiny_figures, tmp_path):
    """A real one-epoch run writes the evaluator's metrics; a second run with the same seed
    gives exactly the same metrics, one with another seed other ones (the seed reaches the
    model)."""
    since = datetime.datetime.now(datetime.timezone.utc)
    args = _run(tiny_figures, tmp_path / 'a', seed=3)
    metrics = _check_results(tmp_path / 'a' / 'out', args, seed=3, epochs=1, since=since)
    assert set(METRICS) <= set(metrics)
    assert all(0 <= metrics[k] <= 1 for k in ('PCK', 'AUC', 'coco/AP'))
    assert math.isfinite(metrics['EPE']) and metrics['EPE'] >= 0
    _run(tiny_figures, tmp_path / 'b', seed=3)
    assert json.loads((tmp_path / 'b/out/results.json').read_text())['metrics'] == metrics
    _run(tiny_figures, tmp_path / 'c', seed=4)
    other = json.loads((tmp_path / 'c/out/results.json').read_text())['metrics']
    assert other['EPE'] != metrics['EPE']


@pytest.mark.slow
def test_one_stage_tiny_run_writes_coco_ap_drawings_and_sigmas(tiny_crowds, tmp_path):
    """A real one-epoch ``--one-stage`` run on a tiny crowd set: the evaluator's COCO AP
    lands in ``results.json``, the first validation images are drawn, and every drawn
    instance's predictions hold finite, positive ``keypoint_sigmas`` per keypoint."""
    work = tmp_path / 'work'
    args = ['--one-stage', '--data-root', str(tiny_crowds), '--work-dir', str(work)]
    args += ['--out', str(tmp_path / 'out'), '--epochs', '1', '--num-vis', '2']
    args += ['--vis-thr', '0', '--cfg-options', *TINY_ONE_STAGE]
    since = datetime.datetime.now(datetime.timezone.utc)
    run_tool(['tools/quickstart.py', *args])
    metrics = _check_results(
        tmp_path / 'out', args, seed=0, epochs=1, since=since, config=ONE_STAGE
    )
    assert 0 <= metrics['coco/AP'] <= 1 and 'PCK' not in metrics
    images = json.loads((tiny_crowds / 'val.json').read_text())['images']
    for image in images[:2]:
        name = image['file_name']
        drawn = cv2.imread(str(work / 'vis' / name))
        assert drawn is not None
        assert not np.array_equal(drawn, cv2.imread(str(tiny_crowds / 'images' / name)))
        instances = json.loads((work / 'predictions' / f'{Path(name).stem}.json').read_text())
        assert 1 <= len(instances) <= 8
        for instance in instances:
            sigmas = np.asarray(instance['keypoint_sigmas'])
            assert sigmas.shape == (11, 2) and np.isfinite(sigmas).all() and (sigmas > 0).all()
    assert not (work / 'vis' / images[2]['file_name']).exists()
