"""Benchmark RLE variants against heatmap and regression baselines."""

from .accuracy import evaluate_checkpoint, mark_divergence, train_and_evaluate
from .curves import learning_curve, mean_curve, plot_learning_curves
from .paired import interleaved_times, paired_speed, ratio_stats
from .report import (
    command_line,
    markdown,
    paired_markdown,
    summarise,
    write_report,
    write_results,
)
from .speed import measure_speed, median_time, packed_batch
from .train_subset import subset_training_set
from .training import median_iter_time, train_variant
from .uncertainty_eval import CALIBRATIONS, sigma_scored_coco, uncertainty_report
from .variants import DEFAULT_VARIANTS, VARIANTS, default_variants, make_variant

__all__ = [
    'evaluate_checkpoint',
    'mark_divergence',
    'median_iter_time',
    'train_variant',
    'train_and_evaluate',
    'learning_curve',
    'mean_curve',
    'plot_learning_curves',
    'markdown',
    'summarise',
    'write_report',
    'write_results',
    'command_line',
    'paired_markdown',
    'interleaved_times',
    'paired_speed',
    'ratio_stats',
    'measure_speed',
    'median_time',
    'packed_batch',
    'DEFAULT_VARIANTS',
    'VARIANTS',
    'default_variants',
    'make_variant',
    'CALIBRATIONS',
    'uncertainty_report',
    'subset_training_set',
    'sigma_scored_coco',
]
