"""Benchmark RLE variants against heatmap and regression baselines."""
from .accuracy import calibration, evaluate_checkpoint, train_variant
from .report import markdown, summarise, write_report
from .speed import measure_speed, median_time, packed_batch
from .variants import DEFAULT_VARIANTS, VARIANTS, make_variant

__all__ = ['calibration', 'evaluate_checkpoint', 'train_variant', 'markdown', 'summarise',
           'write_report', 'measure_speed', 'median_time', 'packed_batch', 'DEFAULT_VARIANTS',
           'VARIANTS', 'make_variant']
