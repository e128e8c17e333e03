"""Heads."""
from .norm_linear import FeatureNormLinear
from .rle_head import FC_TYPES, RLEHead

__all__ = ['RLEHead', 'FeatureNormLinear', 'FC_TYPES']
