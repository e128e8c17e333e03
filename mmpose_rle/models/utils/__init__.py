"""Building blocks shared by the heads."""

from .sigma_calibration import SigmaCalibration
from .soft_argmax import cell_grid, soft_argmax, spatial_log_softmax

__all__ = ['SigmaCalibration', 'cell_grid', 'soft_argmax', 'spatial_log_softmax']
