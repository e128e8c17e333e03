"""Size curves: points read from benchmark results, the table and the figure."""

import json

import pytest

from mmpose_rle.benchmark.size_curves import load_size_points, plot_size_curves, size_markdown


def _results(path, variant, pck):
    acc = {'PCK': dict(mean=pck, std=0.01, n=3), 'temperature/ause': dict(mean=0.2, std=0, n=1)}
    path.write_text(json.dumps(dict(results={variant: dict(accuracy=acc)})))
    return path


def test_points_sorted_by_series_and_fraction_and_tabulated(tmp_path):
    a = _results(tmp_path / 'a.json', 'dense_rle', 0.9)
    b = _results(tmp_path / 'b.json', 'dense_rle', 0.5)
    points = load_size_points([f'dense:dense_rle:1:{a}', f'dense:dense_rle:0.25:{b}'])
    assert [(p[0], p[1]) for p in points] == [('dense', 0.25), ('dense', 1.0)]
    rows = size_markdown(points).splitlines()
    assert rows[2].startswith('| dense | 25% | 0.500 ± 0.010 |')
    assert '| 0.200 |' in rows[2] and '—' in rows[2]  # one seed: no ±; missing metric: —
    plot_size_curves(points, str(tmp_path / 'size.png'))
    assert (tmp_path / 'size.png').stat().st_size > 1000


def test_bad_specs_are_named(tmp_path):
    a = _results(tmp_path / 'a.json', 'dense_rle', 0.9)
    with pytest.raises(ValueError, match='SERIES:VARIANT:FRACTION:PATH'):
        load_size_points([f'dense:1:{a}'])
    with pytest.raises(ValueError, match="variant 'heatmap'"):
        load_size_points([f'hm:heatmap:1:{a}'])
