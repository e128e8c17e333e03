"""Benchmark output: markdown tables, a JSON file and the plots of :mod:`.plots`.

:func:`write_results` is the one writer of every benchmark's and quick start's
``results.json`` and ``results.md``; :func:`write_report` adds the 2-D benchmark's tables
and plots.
"""

import json
import os
import os.path as osp
import shlex
import sys
from typing import Dict, List, Optional

import numpy as np

from .plots import write_plots

__all__ = [
    'format_cell',
    'summarise',
    'markdown',
    'paired_markdown',
    'write_report',
    'write_results',
    'command_line',
]

PAIRED_REFERENCES = ('backbone+neck', 'mmpose_rle', 'heatmap')

SPEED_COLUMNS = [
    ('params', 'params (M)', '{:.2f}'),
    ('flops', 'GFLOPs', '{:.2f}'),
    ('latency_b1', 'ms b1', '{:.1f}'),
    ('latency_b1_flip', 'ms b1 flip', '{:.1f}'),
    ('throughput_b1', 'img/s b1', '{:.1f}'),
    ('throughput_b1_flip', 'img/s b1 flip', '{:.1f}'),
    ('throughput_b32', 'img/s b32', '{:.1f}'),
    ('throughput_b32_flip', 'img/s b32 flip', '{:.1f}'),
    ('overhead_b32', 'b32 time over backbone+neck', '{:+.1%}'),
    ('train_step', 'train step (s)', '{:.3f}'),
    ('head_share', 'head+flow+loss share', '{:.2%}'),
    ('memory_mb', 'train memory (MB)', '{:.0f}'),
]
ACCURACY_COLUMNS = [
    ('PCK', 'PCK@0.05', '{:.3f}'),
    ('AUC', 'AUC', '{:.3f}'),
    ('EPE', 'EPE (px)', '{:.2f}'),
    ('coco/AP', 'COCO AP', '{:.3f}'),
    ('error/q50', 'median error / size', '{:.4f}'),
    ('error/q90', '90th pct. error / size', '{:.4f}'),
    ('sigma_score/coco/AP', 'COCO AP, σ score', '{:.3f}'),
    ('oracle_score/coco/AP', 'COCO AP, OKS-ranked', '{:.3f}'),
    ('score/oks_spearman', 'ρ(score, OKS)', '{:.2f}'),
    ('sigma_score/oks_spearman', 'ρ(σ score, OKS)', '{:.2f}'),
    ('train_time', 'train time (s)', '{:.0f}'),
    ('iter_time', 's / iteration', '{:.3f}'),
]
#: The uncertainty table: the model's own σ (only where it predicts one), the coverage its
#: fitted model implies at 1σ and 2σ, and σ calibrated on held-out folds (``temperature``;
#: for the heatmap head, of 1/score; the coverage of one shared power map too).
UNCERTAINTY_COLUMNS = [
    ('raw/within_1sigma', 'within 1σ', '{:.2f}'),
    ('raw/within_2sigma', 'within 2σ', '{:.2f}'),
    ('model/nominal_1sigma', "model's 1σ", '{:.2f}'),
    ('model/nominal_2sigma', "model's 2σ", '{:.2f}'),
    ('raw/rms_ratio', 'RMS(error/σ)', '{:.2f}'),
    ('raw/ece', 'ECE', '{:.3f}'),
    ('raw/nll', 'NLL', '{:.2f}'),
    ('temperature/within_1sigma', 'cal. within 1σ', '{:.2f}'),
    ('temperature/within_2sigma', 'cal. within 2σ', '{:.2f}'),
    ('temperature/ece', 'cal. ECE', '{:.3f}'),
    ('temperature/nll', 'cal. NLL', '{:.2f}'),
    ('power/nll', 'power-cal. NLL', '{:.2f}'),
    ('power_shared/within_1sigma', 'shared power-cal. 1σ', '{:.2f}'),
    ('power_shared/within_2sigma', 'shared power-cal. 2σ', '{:.2f}'),
    ('temperature/ause', 'AUSE', '{:.3f}'),
    ('temperature/sigma_error_spearman', 'ρ(σ, error)', '{:.2f}'),
]


def summarise(runs: List[Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    """Mean and standard deviation over seeds of every numeric key."""
    keys = sorted({k for r in runs for k, v in r.items() if isinstance(v, (int, float, np.number))})
    return {
        k: dict(
            mean=float(np.mean([r[k] for r in runs if k in r])),
            std=float(np.std([r[k] for r in runs if k in r])),
            n=sum(k in r for r in runs),
        )
        for k in keys
    }


def _speed_cell(speed: dict, key: str, fmt: str) -> str:
    if key not in speed:
        return '—'
    return fmt.format(speed[key] * (1e3 if key.startswith('latency') else 1))  # s → ms


def format_cell(stats: dict, key: str, fmt: str) -> str:
    """``mean ± std`` of ``stats[key]`` (``mean`` alone for one seed), ``—`` when absent."""
    if key not in stats:
        return '—'
    s = stats[key]
    text = fmt.format(s['mean'])
    return text + (' ± ' + fmt.format(s['std']) if s['n'] > 1 else '')


def markdown(results: Dict[str, dict], reference: str = 'rle') -> str:
    """Tables of speed (with ratios to ``reference``) and of accuracy."""
    lines = []
    speed = {n: r['speed'] for n, r in results.items() if r.get('speed')}
    if speed:
        cols = [c for c in SPEED_COLUMNS if any(c[0] in s for s in speed.values())]
        ref = speed.get(reference, {})
        lines += [
            '| model | ' + ' | '.join(c[1] for c in cols) + f' | b32 throughput vs {reference} |',
            '|---' * (len(cols) + 2) + '|',
        ]
        for name, s in speed.items():
            ratio = (
                f'{s["throughput_b32"] / ref["throughput_b32"]:.2f}×'
                if ref.get('throughput_b32')
                else '—'
            )
            lines.append(
                f'| {name} | '
                + ' | '.join(_speed_cell(s, k, fmt) for k, _, fmt in cols)
                + f' | {ratio} |'
            )
        lines.append('')
    acc = {n: r['accuracy'] for n, r in results.items() if r.get('accuracy')}
    if acc:
        lines += _accuracy_table(acc, ACCURACY_COLUMNS)
    failures = [
        f'{name} seed {i}: {run["failed"]}'
        for name, r in results.items()
        for i, run in enumerate(r.get('runs', []))
        if run.get('failed')
    ]
    lines += ['', *[f'Failed: {f}' for f in failures]] if failures else []
    if any('temperature/nll' in s for s in acc.values()):
        lines += ['', *_accuracy_table(acc, UNCERTAINTY_COLUMNS, raw_needs_sigma=True)]
    return '\n'.join(lines) + '\n'


def _accuracy_table(acc: Dict[str, dict], columns: list, raw_needs_sigma: bool = False) -> list:
    """Rows of mean ± std over seeds; ``raw/…`` cells are left empty for models without σ."""
    cols = [c for c in columns if any(c[0] in s for s in acc.values())]
    counts = {name: max(v['n'] for v in s.values()) for name, s in acc.items()}
    over = f'{max(counts.values())} seed(s)'
    uneven = len(set(counts.values())) > 1  # then every row names its own count
    lines = [
        f'| model (mean ± std over {"seeds" if uneven else over}) | '
        + ' | '.join(c[1] for c in cols)
        + ' |',
        '|---' * (len(cols) + 1) + '|',
    ]
    for name, s in acc.items():
        label = f'{name} ({counts[name]} seed(s))' if uneven else name
        with_sigma = s.get('predicts_sigma', {}).get('mean', 0) > 0
        cells = [
            '—'
            if raw_needs_sigma and k.startswith('raw/') and not with_sigma
            else format_cell(s, k, f)
            for k, _, f in cols
        ]
        lines.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return lines


def _ratio(stats: Optional[dict]) -> str:
    if stats is None:
        return '—'
    return f'{stats["median"]:.3f}× [{stats["q25"]:.3f}, {stats["q75"]:.3f}]'


def paired_markdown(paired: dict) -> str:
    """The interleaved timing (:func:`~mmpose_rle.benchmark.paired.paired_speed`) as a
    table of throughput ratios: median over rounds [interquartile range]."""
    inference = [
        (mode, ref)
        for mode in ('tensor', 'predict')
        for ref in PAIRED_REFERENCES
        if ref in paired[mode]['seconds']
    ]
    heads = paired['head_step']
    head_refs = [r for r in PAIRED_REFERENCES if r in heads['seconds']]
    header = (
        [f'{mode}: throughput vs {ref}' for mode, ref in inference]
        + ['head+flow+loss step (ms)']
        + [f'head step speed vs {r}' for r in head_refs]
    )
    lines = [
        f'Interleaved timing: {paired["rounds"]} rounds of inference at batch '
        f'{paired["batch_size"]} without flip, {paired["head_rounds"]} rounds of the '
        'head step; each cell is the median over rounds of a ratio measured within '
        'the round [quartiles]; >1× is faster.',
        '',
        '| model | ' + ' | '.join(header) + ' |',
        '|---' * (len(header) + 1) + '|',
    ]
    for name in paired['tensor']['seconds']:
        if name == 'backbone+neck':
            continue
        cells = [_ratio(paired[mode]['throughput_ratio'][name].get(ref)) for mode, ref in inference]
        if name in heads['seconds']:
            cells.append(f'{heads["seconds"][name] * 1e3:.2f}')
            cells += [_ratio(heads['throughput_ratio'][name].get(r)) for r in head_refs]
        else:
            cells += ['—'] * (1 + len(head_refs))
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def command_line() -> str:
    """This process's command line, ``python`` and the shell-quoted ``sys.argv``."""
    return shlex.join(['python', *sys.argv])


def write_results(out_dir: str, record: dict, text: str) -> Dict[str, str]:
    """Write ``record`` to ``{out_dir}/results.json`` (indent 2; NumPy scalars as floats)
    and ``text`` to ``{out_dir}/results.md``; ``out_dir`` is created if needed.

    Returns:
        dict: The paths, ``json`` and ``md``.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(json=osp.join(out_dir, 'results.json'), md=osp.join(out_dir, 'results.md'))
    with open(paths['json'], 'w') as f:
        json.dump(record, f, indent=2, default=float)
        f.write('\n')
    with open(paths['md'], 'w') as f:
        f.write(text)
    return paths


def write_report(
    results: Dict[str, dict],
    out_dir: str,
    command: str,
    paired: Optional[dict] = None,
    sources: Optional[List[str]] = None,
) -> Dict[str, str]:
    """Write ``results.json``, ``results.md`` (:func:`write_results`) and the plots of
    :func:`~mmpose_rle.benchmark.plots.write_plots`; ``paired`` is the interleaved timing,
    written as a second table; ``sources`` are the commands of the runs that ``results`` were
    merged from (``tools/merge_benchmarks.py``), listed at the end and under ``sources``."""
    text = (
        f'Generated by `{command}`\n\n'
        + markdown(results)
        + ('\n' + paired_markdown(paired) if paired else '')
    )
    record = dict(command=command, results=results, paired=paired)
    if sources is not None:
        record['sources'] = sources
        text += '\nMerged from the runs of:\n\n' + ''.join(f'- `{s}`\n' for s in sources)
    paths = write_results(out_dir, record, text)
    paths.update(write_plots(results, out_dir))
    return paths
