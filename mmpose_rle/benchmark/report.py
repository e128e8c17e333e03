"""Benchmark output: a markdown table, a JSON file and a plot of accuracy vs throughput."""

import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np

__all__ = ['summarise', 'markdown', 'paired_markdown', 'write_report']

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
    ('train_time', 'train time (s)', '{:.0f}'),
    ('iter_time', 's / iteration', '{:.3f}'),
    ('within_1sigma', 'within 1σ', '{:.2f}'),
    ('within_2sigma', 'within 2σ', '{:.2f}'),
    ('within_3sigma', 'within 3σ', '{:.2f}'),
    ('sigma_error_spearman', 'ρ(σ, error)', '{:.2f}'),
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


def _cell(stats: dict, key: str, fmt: str) -> str:
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
        cols = [c for c in ACCURACY_COLUMNS if any(c[0] in s for s in acc.values())]
        seeds = max(max(v['n'] for v in s.values()) for s in acc.values())
        lines += [
            f'| model (mean ± std over {seeds} seed(s)) | ' + ' | '.join(c[1] for c in cols) + ' |',
            '|---' * (len(cols) + 1) + '|',
        ]
        for name, s in acc.items():
            lines.append(f'| {name} | ' + ' | '.join(_cell(s, k, f) for k, _, f in cols) + ' |')
    return '\n'.join(lines) + '\n'


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


def write_report(
    results: Dict[str, dict], out_dir: str, command: str, paired: Optional[dict] = None
) -> Dict[str, str]:
    """Write ``results.json``, ``results.md`` and ``accuracy_vs_throughput.png`` (a bar
    chart when only accuracy or only speed was measured); ``paired`` is the interleaved
    timing, written as a second table."""
    paths = dict(
        json=osp.join(out_dir, 'results.json'),
        md=osp.join(out_dir, 'results.md'),
        plot=osp.join(out_dir, 'accuracy_vs_throughput.png'),
    )
    with open(paths['json'], 'w') as f:
        json.dump(
            dict(command=command, results=results, paired=paired), f, indent=2, default=float
        )  # NumPy scalars in the metrics
    with open(paths['md'], 'w') as f:
        f.write(
            f'Generated by `{command}`\n\n'
            + markdown(results)
            + ('\n' + paired_markdown(paired) if paired else '')
        )
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    names = list(results)
    speed = [results[n].get('speed') or {} for n in names]
    acc = [results[n].get('accuracy') or {} for n in names]
    if any('throughput_b32_flip' in s for s in speed) and any('PCK' in a for a in acc):
        for name, s, a in zip(names, speed, acc):
            if 'throughput_b32_flip' in s and 'PCK' in a:
                x, y, e = s['throughput_b32_flip'], a['PCK']['mean'], a['PCK']['std']
                ax.errorbar(x, y, yerr=e, fmt='o', capsize=3)
                ax.annotate(name, (x, y), textcoords='offset points', xytext=(4, 4), fontsize=8)
        ax.set_xlabel('throughput, batch 32, flip test (images/s)')
        ax.set_ylabel('PCK@0.05 (mean ± std over seeds)')
    elif any('PCK' in a for a in acc):  # accuracy only: one bar per variant
        ax.bar(
            names,
            [a.get('PCK', {}).get('mean', 0) for a in acc],
            yerr=[a.get('PCK', {}).get('std', 0) for a in acc],
            capsize=3,
        )
        ax.set_ylabel('PCK@0.05 (mean ± std over seeds)')
    else:  # speed only
        key = (
            'throughput_b32_flip'
            if any('throughput_b32_flip' in s for s in speed)
            else next((k for s in speed for k in s if k.startswith('throughput')), None)
        )
        ax.bar(names, [s.get(key, 0) for s in speed])
        ax.set_ylabel(f'{key} (images/s)')
    ax.tick_params(axis='x', labelrotation=30)
    fig.tight_layout()
    fig.savefig(paths['plot'], dpi=120)
    plt.close(fig)
    return paths
