"""Building blocks shared by the heads."""

from .soft_argmax import cell_grid, soft_argmax, spatial_log_softmax

__all__ = ['cell_grid', 'soft_argmax', 'spatial_log_softmax']
