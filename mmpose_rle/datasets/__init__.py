"""Data sets: the procedural quick-start data (MMPose's data sets do the rest)."""

from .synthetic import (
    FLIP_PAIRS,
    KEYPOINTS,
    SIGMAS,
    SKELETON,
    SyntheticFigures,
    generate_synthetic_figures,
)

__all__ = [
    'KEYPOINTS',
    'FLIP_PAIRS',
    'SKELETON',
    'SIGMAS',
    'SyntheticFigures',
    'generate_synthetic_figures',
]
