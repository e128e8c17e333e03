"""One way to draw a benchmark figure: matplotlib without a display, saved and closed."""

from contextlib import contextmanager
from typing import Iterator, Tuple

__all__ = ['figure']


@contextmanager
def figure(path: str, *grid: int, dpi: int = 120, **kwargs) -> Iterator[Tuple[object, object]]:
    """``(fig, axes)`` of ``plt.subplots(*grid, **kwargs)`` (Agg backend) for the block; after
    it, the figure is laid out tight and saved to ``path`` at ``dpi`` (default 120), and in
    any case closed."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(*grid, **kwargs)
    try:
        yield fig, axes
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
