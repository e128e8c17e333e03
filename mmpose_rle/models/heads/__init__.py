"""Heads."""
from .integral_rle_head import SIGMA_SOURCES, IntegralRLEHead
from .norm_linear import FeatureNormLinear
from .rle_head import FC_TYPES, RLEHead

__all__ = ['RLEHead', 'IntegralRLEHead', 'FeatureNormLinear', 'FC_TYPES', 'SIGMA_SOURCES']
