"""tools/quickstart.py: ``--out`` writes the metrics and what made them; ``--seed`` fixes them."""

import datetime
import importlib.util
import json
import math
import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import List

import mmpose
import pytest
import torch

from tests.helpers import ROOT, TINY_OPTIONS, run_tool

TOOL = ROOT / 'tools/quickstart.py'
METRICS = ('PCK', 'AUC', 'EPE', 'coco/AP')


def _tool():
    spec = importlib.util.spec_from_file_location('quickstart_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_results(out: Path, args: List[str], seed: int, epochs: int, since) -> dict:
    """The provenance in ``results.json`` against what the test knows; returns the metrics."""
    results = json.loads((out / 'results.json').read_text())
    assert results['command'] == shlex.join(['python', 'tools/quickstart.py', *args])
    assert results['seed'] == seed and results['epochs'] == epochs
    assert results['config'] == 'configs/quickstart/rle_res18_synthetic-64x64.py'
    assert results['versions']['torch'] == torch.__version__
    assert results['versions']['mmpose'] == mmpose.__version__
    date = datetime.datetime.fromisoformat(results['date'])
    assert since - datetime.timedelta(seconds=1) <= date <= datetime.datetime.now(date.tzinfo)
    assert 0 <= results['train_time'] <= results['total_time']
    metrics = results['metrics']
    table = (out / 'results.md').read_text()
    assert results['command'] in table
    assert f'{metrics["PCK"]:.3f}' in table and f'{metrics["EPE"]:.2f}' in table
    return metrics


def test_out_writes_the_evaluators_metrics_and_the_seed_reaches_the_config(
    tiny_figures, tmp_path, monkeypatch
):
    """Training mocked: the metrics the validation returns land in ``results.json``, and
    the runner is built from a config with the seed and epochs of the command line."""
    tool = _tool()
    metrics = {'PCK': 0.25, 'AUC': 0.5, 'EPE': 7.125, 'coco/AP': 0.375, 'coco/AP .5': 0.625}
    built = {}

    def from_cfg(cfg):
        built['cfg'] = cfg
        val_loop = SimpleNamespace(run=lambda: dict(metrics))
        return SimpleNamespace(train=lambda: None, val_loop=val_loop, work_dir=cfg.work_dir)

    monkeypatch.setattr(tool.Runner, 'from_cfg', staticmethod(from_cfg))
    monkeypatch.setattr(tool, 'draw_predictions', lambda runner, cfg, num: str(tmp_path))
    monkeypatch.setattr(torch, 'set_num_threads', lambda n: None)  # keep pytest's threads
    out = tmp_path / 'out'
    args = ['--data-root', str(tiny_figures), '--work-dir', str(tmp_path / 'work')]
    args += ['--out', str(out), '--epochs', '2', '--seed', '5']
    since = datetime.datetime.now(datetime.timezone.utc)
    tool.main(args)

    assert built['cfg'].randomness.seed == 5 and built['cfg'].train_cfg.max_epochs == 2
    assert _check_results(out, args, seed=5, epochs=2, since=since) == metrics


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
