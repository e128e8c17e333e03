"""σ calibration: fit a monotone map of the predicted σ on held-out errors, one per
inference mode (one view, flip test), for top-down, bottom-up (one-stage) and lifting heads."""

from .calibrate import calibrate_head, calibrate_model
from .collect import (
    UNIT_TO_MM,
    collect_predictions,
    flip_test_as,
    inference_modes,
    instance_sizes,
    to_head_units,
)
from .fit import MAPS, SHARES, apply_calibration, cross_fit, fit_calibration
from .report import format_report, heldout_report

__all__ = [
    'MAPS',
    'SHARES',
    'fit_calibration',
    'apply_calibration',
    'cross_fit',
    'UNIT_TO_MM',
    'collect_predictions',
    'to_head_units',
    'flip_test_as',
    'inference_modes',
    'instance_sizes',
    'calibrate_head',
    'calibrate_model',
    'format_report',
    'heldout_report',
]
