"""mmpose_rle: Residual Log-likelihood Estimation (Li et al., ICCV 2021) for MMPose 1.x.

Importing the package registers every part in the ``mmpose_rle`` scope, a child of
MMPose's registries: configs name them ``mmpose_rle.RLEHead``, ``mmpose_rle.RLELoss``,
``mmpose_rle.RealNVP`` and so on.
"""
from . import models  # noqa: F401  (registers the parts)
from .registry import MODELS, SCOPE
from .version import __version__

__all__ = ['__version__', 'MODELS', 'SCOPE', 'models']
