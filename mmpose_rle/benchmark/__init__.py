"""Benchmark RLE variants against heatmap and regression baselines."""

from .accuracy import calibration, evaluate_checkpoint, median_iter_time, train_variant
from .paired import interleaved_times, paired_speed, ratio_stats
from .report import markdown, paired_markdown, summarise, write_report
from .speed import measure_speed, median_time, packed_batch
from .variants import DEFAULT_VARIANTS, VARIANTS, make_variant

__all__ = [
    'calibration',
    'evaluate_checkpoint',
    'median_iter_time',
    'train_variant',
    'markdown',
    'summarise',
    'write_report',
    'paired_markdown',
    'interleaved_times',
    'paired_speed',
    'ratio_stats',
    'measure_speed',
    'median_time',
    'packed_batch',
    'DEFAULT_VARIANTS',
    'VARIANTS',
    'make_variant',
]
