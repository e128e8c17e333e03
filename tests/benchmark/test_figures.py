"""figure(): a saved, closed matplotlib figure, and nothing saved when drawing fails."""

import matplotlib.pyplot as plt
import pytest

from mmpose_rle.benchmark.figures import figure


def test_a_figure_is_saved_at_its_resolution_and_closed(tmp_path):
    sizes = {}
    for dpi in (50, 100):
        path = tmp_path / f'fig{dpi}.png'
        with figure(str(path), 1, 2, dpi=dpi, figsize=(4, 2)) as (fig, axes):
            assert len(axes) == 2
            axes[0].plot([0, 1], [1, 0])
        sizes[dpi] = plt.imread(str(path)).shape[:2]
        assert not plt.fignum_exists(fig.number)
    assert sizes == {50: (100, 200), 100: (200, 400)}  # 4×2 inches at 50 and 100 dpi


def test_a_failed_drawing_saves_nothing_and_closes(tmp_path):
    path = tmp_path / 'broken.png'
    with pytest.raises(ZeroDivisionError):
        with figure(str(path)) as (fig, ax):
            ax.plot([1 / 0])
    assert not path.exists() and not plt.fignum_exists(fig.number)
