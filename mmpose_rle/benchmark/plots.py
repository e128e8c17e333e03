"""The benchmark's figures, drawn from its results (one PNG each).

* ``accuracy_vs_throughput.png`` — PCK against batch-32 throughput with flip test (when both
  were measured);
* ``accuracy.png`` — bars of PCK@0.05 and EPE, mean ± std over seeds, the baselines (models
  without σ: heatmap, L1, MMPose's integral heads) in grey beside our models;
* ``learning_curves.png`` — validation PCK against training wall time, a band over seeds
  (:func:`~mmpose_rle.benchmark.curves.plot_learning_curves`);
* ``reliability.png`` — observed against nominal coverage of the central intervals, for the
  raw and the held-out calibrated σ (the diagonal is perfect calibration);
* ``sparsification.png`` — mean error of the keypoints kept when the most uncertain are
  dropped first, against the oracle (dropping the largest errors first).
"""

import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .curves import plot_learning_curves
from .figures import figure

__all__ = ['write_plots']

#: Metrics a learning curve can plot, by preference: PCK (top-down), COCO AP (one-stage).
_CURVE_KEYS = ('PCK', 'coco/AP')


def _with_sigma(result: dict) -> bool:
    return result.get('accuracy', {}).get('predicts_sigma', {}).get('mean', 0) > 0


def _accuracy_bars(results: Dict[str, dict], path: str) -> None:
    names = [n for n, r in results.items() if 'PCK' in r.get('accuracy', {})]
    with figure(path, 1, 2, figsize=(10, 4)) as (fig, axes):
        for ax, key, label in zip(axes, ('PCK', 'EPE'), ('PCK@0.05', 'EPE (px)')):
            acc = [results[n]['accuracy'].get(key, {}) for n in names]
            colors = ['tab:blue' if _with_sigma(results[n]) else 'tab:gray' for n in names]
            ax.bar(
                names,
                [a.get('mean', np.nan) for a in acc],
                yerr=[a.get('std', 0) for a in acc],
                color=colors,
                capsize=3,
            )
            ax.set_ylabel(f'{label}, mean ± std over seeds')
            ax.tick_params(axis='x', labelrotation=30)
        axes[0].set_title('blue: RLE heads (predict σ); grey: baselines', fontsize=9)


def _throughput(results: Dict[str, dict], path: str) -> None:
    with figure(path, figsize=(6, 4)) as (fig, ax):
        for name, r in results.items():
            s, a = r.get('speed') or {}, r.get('accuracy') or {}
            if 'throughput_b32_flip' in s and 'PCK' in a:
                x, y, e = s['throughput_b32_flip'], a['PCK']['mean'], a['PCK']['std']
                ax.errorbar(
                    x,
                    y,
                    yerr=e,
                    fmt='o',
                    capsize=3,
                    color='tab:blue' if _with_sigma(r) else 'tab:gray',
                )
                ax.annotate(name, (x, y), textcoords='offset points', xytext=(4, 4), fontsize=8)
        ax.set_xlabel('throughput, batch 32, flip test (images/s)')
        ax.set_ylabel('PCK@0.05 (mean ± std over seeds)')


def _mean_of_runs(runs: List[dict], *keys) -> np.ndarray:
    values = []
    for run in runs:
        value = run
        for key in keys:
            value = (value or {}).get(key)
        if value is not None:
            values.append(np.asarray(value, float))
    return np.mean(values, axis=0) if values else None


def _mean_curves(
    results: Dict[str, dict], group: str, keys: Sequence[str]
) -> Iterator[Tuple[str, dict, List[np.ndarray]]]:
    """``(name, result, curves)`` of every variant with ``uncertainty_curves``: the mean
    over its runs of ``[group][key]`` for each of ``keys``."""
    for name, r in results.items():
        runs = r.get('uncertainty_curves') or []
        curves = [_mean_of_runs(runs, group, key) for key in keys]
        if curves[0] is not None:
            yield name, r, curves


def _reliability(results: Dict[str, dict], path: str) -> None:
    with figure(path, figsize=(5.5, 5)) as (fig, ax):
        ax.plot([0, 1], [0, 1], color='black', lw=0.8, label='calibrated')
        keys = ('nominal', 'temperature', 'raw')
        for name, r, (nominal, cal, raw) in _mean_curves(results, 'reliability', keys):
            (line,) = ax.plot(nominal, cal, marker='o', label=f'{name}, calibrated (held out)')
            if _with_sigma(r):
                ax.plot(nominal, raw, ls='--', color=line.get_color(), label=f'{name}, raw σ')
        ax.set_xlabel('nominal coverage of the central interval')
        ax.set_ylabel('observed coverage (mean over seeds)')
        ax.legend(fontsize=7)


def _sparsification(results: Dict[str, dict], path: str) -> None:
    with figure(path, figsize=(6, 4.5)) as (fig, ax):
        keys = ('fraction', 'by_sigma', 'oracle')
        for name, _, (fraction, by_sigma, oracle) in _mean_curves(results, 'sparsification', keys):
            (line,) = ax.plot(fraction, by_sigma, label=f'{name}: by σ')
            ax.plot(fraction, oracle, ls=':', color=line.get_color(), label=f'{name}: oracle')
        ax.set_xlabel('fraction of keypoints dropped (most uncertain first)')
        ax.set_ylabel('mean error of the rest / mean error of all')
        ax.legend(fontsize=7)


def _curve_key(curves: Dict[str, list]) -> Optional[str]:
    """The metric the learning curves plot: the first of :data:`_CURVE_KEYS` that every
    validation of every variant reports, or None."""
    for key in _CURVE_KEYS:
        in_every = [all(key in p for c in runs for p in c) for runs in curves.values()]
        if in_every and all(in_every):
            return key
    return None


def write_plots(results: Dict[str, dict], out_dir: str) -> Dict[str, str]:
    """Draw every figure the results allow; returns their paths by name."""
    paths = {}
    if any('PCK' in r.get('accuracy', {}) for r in results.values()):
        paths['accuracy'] = osp.join(out_dir, 'accuracy.png')
        _accuracy_bars(results, paths['accuracy'])
    if any(r.get('speed') and r.get('accuracy') for r in results.values()):
        paths['throughput'] = osp.join(out_dir, 'accuracy_vs_throughput.png')
        _throughput(results, paths['throughput'])
    curves = {n: r['curves'] for n, r in results.items() if any(r.get('curves') or [])}
    key = _curve_key(curves)
    if key and any(len(c) > 1 for runs in curves.values() for c in runs):
        paths['learning_curves'] = osp.join(out_dir, 'learning_curves.png')
        plot_learning_curves(curves, paths['learning_curves'], key)
    if any(r.get('uncertainty_curves') for r in results.values()):
        paths['reliability'] = osp.join(out_dir, 'reliability.png')
        _reliability(results, paths['reliability'])
        paths['sparsification'] = osp.join(out_dir, 'sparsification.png')
        _sparsification(results, paths['sparsification'])
    return paths
