"""merge_results: runs trained apart, summarised as one benchmark."""

import numpy as np
import pytest

from mmpose_rle.benchmark.merge import merge_results


def _record(seed, names=('rle', 'heatmap')):
    results = {
        name: dict(
            accuracy={},
            runs=[{'PCK': 0.5 + 0.1 * seed + 0.01 * i, 'EPE': 3.0 + seed}],
            curves=[[{'epoch': 1, 'PCK': seed}]],
            uncertainty_curves=[None],
        )
        for i, name in enumerate(names)
    }
    return dict(command=f'python tools/benchmark.py --seeds {seed}', results=results)


def test_runs_concatenate_in_record_order_and_are_summarised_again():
    merged = merge_results([_record(0), _record(1), _record(2, names=('rle',))])
    assert list(merged) == ['rle', 'heatmap']
    pck = [0.5, 0.6, 0.7]
    assert [r['PCK'] for r in merged['rle']['runs']] == pytest.approx(pck)
    stats = merged['rle']['accuracy']['PCK']
    assert stats['mean'] == pytest.approx(np.mean(pck))
    assert stats['std'] == pytest.approx(np.std(pck))
    assert stats['n'] == 3
    assert merged['heatmap']['accuracy']['EPE']['n'] == 2
    assert [c[0]['PCK'] for c in merged['rle']['curves']] == [0, 1, 2]
    assert len(merged['rle']['uncertainty_curves']) == 3


def test_missing_curves_keep_one_entry_per_run():
    record = _record(0)
    del record['results']['rle']['curves']
    merged = merge_results([record, _record(1)])
    assert merged['rle']['curves'] == [[], [{'epoch': 1, 'PCK': 1}]]


def test_records_without_runs_are_refused():
    with pytest.raises(ValueError, match='no results'):
        merge_results([])
    empty = dict(command='python tools/benchmark.py', results={'rle': {'speed': {}}})
    with pytest.raises(ValueError, match='record 1 .* no runs'):
        merge_results([_record(0), empty])
