"""Heads: the RLE head family (:class:`BaseRLEHead` and its siblings)."""

from .base_rle_head import BaseRLEHead, RLEOutputs
from .dense_rle_head import DenseRLEHead
from .integral_rle_head import SIGMA_SOURCES, IntegralRLEHead
from .norm_linear import FeatureNormLinear
from .official_rle_head import OfficialRLEHead
from .rle_head import RLEHead

__all__ = [
    'BaseRLEHead',
    'RLEOutputs',
    'RLEHead',
    'OfficialRLEHead',
    'IntegralRLEHead',
    'DenseRLEHead',
    'FeatureNormLinear',
    'SIGMA_SOURCES',
]
