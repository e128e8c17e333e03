"""Heads: the RLE head family (:class:`BaseRLEHead` and its siblings), the one-stage
:class:`YOLOXPoseRLEHead` and :class:`RTMORLEHead` (and :class:`RTMORegressionHead`, which
compares RTMO's two keypoint estimators), and MMPose's lifting
head in the units of ours (:class:`CubeTemporalRegressionHead`, a baseline)."""

from .base_rle_head import BaseRLEHead, RLEOutputs
from .cube_regression_head import CubeTemporalRegressionHead
from .dense_rle_head import DenseRLEHead
from .integral_rle_head import SIGMA_SOURCES, IntegralRLEHead
from .norm_linear import FeatureNormLinear
from .official_rle_head import OfficialRLEHead
from .rle_head import RLEHead
from .rle_lifting_head import RLELiftingHead
from .rtmo_regression_head import RTMORegressionHead
from .rtmo_rle_head import RTMORLEHead
from .yoloxpose_rle_head import YOLOXPoseRLEHead
from .yoloxpose_rle_module import YOLOXPoseRLEHeadModule

__all__ = [
    'BaseRLEHead',
    'RLEOutputs',
    'RLEHead',
    'RLELiftingHead',
    'CubeTemporalRegressionHead',
    'OfficialRLEHead',
    'IntegralRLEHead',
    'DenseRLEHead',
    'FeatureNormLinear',
    'SIGMA_SOURCES',
    'YOLOXPoseRLEHead',
    'YOLOXPoseRLEHeadModule',
    'RTMORLEHead',
    'RTMORegressionHead',
]
