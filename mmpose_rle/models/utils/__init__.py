"""Building blocks shared by the heads."""

from .expected_oks import box_areas, expected_oks
from .image_sigmas import input_to_image_sigmas
from .lifting_units import CUBE_INIT_CFG, cube_label_scale, lifting_label_mm
from .prior_selection import select_priors
from .sigma_calibration import SigmaCalibration
from .sigma_init import checked_sigma_init, sigma_init_bias
from .soft_argmax import (
    cell_grid,
    pixel_grid,
    soft_argmax,
    spatial_log_softmax,
    window_around_peak,
)

__all__ = [
    'expected_oks',
    'box_areas',
    'SigmaCalibration',
    'input_to_image_sigmas',
    'select_priors',
    'checked_sigma_init',
    'sigma_init_bias',
    'cell_grid',
    'pixel_grid',
    'soft_argmax',
    'window_around_peak',
    'spatial_log_softmax',
    'CUBE_INIT_CFG',
    'cube_label_scale',
    'lifting_label_mm',
]
