"""Metrics against training-set size: a table and a figure from several benchmark runs.

Each point is one variant of one ``results.json`` of ``tools/benchmark.py``, trained on a
fraction of the training split (``--train-fraction``); a series joins the points of one
model. The figure has one panel per metric, mean ± std over seeds against the fraction.
"""

import json
from typing import Dict, List, Sequence, Tuple

from .figures import figure
from .report import format_cell

__all__ = ['SizePoint', 'load_size_points', 'size_markdown', 'plot_size_curves', 'SIZE_METRICS']

#: ``(key in the accuracy summary, label, format)`` of the table and the figure's panels.
SIZE_METRICS: Tuple[Tuple[str, str, str], ...] = (
    ('PCK', 'PCK@0.05', '{:.3f}'),
    ('EPE', 'EPE (px)', '{:.2f}'),
    ('coco/AP', 'COCO AP', '{:.3f}'),
    ('oracle_score/coco/AP', 'COCO AP, OKS-ranked', '{:.3f}'),
    ('score/oks_spearman', 'ρ(score, OKS)', '{:.2f}'),
    ('raw/within_1sigma', 'raw within 1σ', '{:.2f}'),
    ('temperature/within_1sigma', 'cal. within 1σ', '{:.2f}'),
    ('temperature/ause', 'AUSE', '{:.3f}'),
    ('temperature/sigma_error_spearman', 'ρ(σ, error)', '{:.2f}'),
)

#: ``(series, fraction, {metric: {'mean', 'std', 'n'}})``
SizePoint = Tuple[str, float, Dict[str, Dict[str, float]]]


def load_size_points(specs: Sequence[str]) -> List[SizePoint]:
    """Points from ``SERIES:VARIANT:FRACTION:PATH`` specs (``PATH`` a benchmark
    ``results.json``, ``VARIANT`` a model in it), sorted by series then fraction. A model
    without σ (``predicts_sigma`` 0, the heatmap head) loses its ``raw/…`` metrics: its raw
    "σ" is 1/score, which has no unit."""
    points = []
    for spec in specs:
        parts = spec.split(':', 3)
        if len(parts) != 4:
            raise ValueError(f'{spec!r}: expected SERIES:VARIANT:FRACTION:PATH')
        series, variant, fraction, path = parts
        with open(path) as f:
            results = json.load(f)['results']
        if variant not in results or 'accuracy' not in results[variant]:
            raise ValueError(f'{path} has no accuracy of variant {variant!r}: {sorted(results)}')
        stats = results[variant]['accuracy']
        if stats.get('predicts_sigma', {}).get('mean', 1) == 0:
            stats = {k: v for k, v in stats.items() if not k.startswith('raw/')}
        points.append((series, float(fraction), stats))
    return sorted(points, key=lambda p: (p[0], p[1]))


def size_markdown(points: Sequence[SizePoint]) -> str:
    """One row per point: the series, the fraction and :data:`SIZE_METRICS` (mean ± std)."""
    head = ['model', 'training fraction'] + [label for _, label, _ in SIZE_METRICS]
    rows = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for series, fraction, stats in points:
        cells = [format_cell(stats, key, fmt) for key, _, fmt in SIZE_METRICS]
        rows.append('| ' + ' | '.join([series, f'{fraction:.0%}'] + cells) + ' |')
    return '\n'.join(rows)


def plot_size_curves(points: Sequence[SizePoint], path: str) -> None:
    """One panel per metric of :data:`SIZE_METRICS`, a line with error bars per series."""
    with figure(path, 3, 3, dpi=110, figsize=(12, 10)) as (fig, axes):
        for ax, (key, label, _) in zip(axes.flat, SIZE_METRICS):
            for series in dict.fromkeys(p[0] for p in points):
                mine = [p for p in points if p[0] == series and key in p[2]]
                if mine:
                    ax.errorbar(
                        [p[1] for p in mine],
                        [p[2][key]['mean'] for p in mine],
                        yerr=[p[2][key]['std'] for p in mine],
                        marker='o',
                        capsize=3,
                        label=series,
                    )
            ax.set_xlabel('fraction of the training split')
            ax.set_title(f'{label}, mean ± std over seeds', fontsize=9)
        axes.flat[0].legend(fontsize=8)
