"""mmpose_rle: Residual Log-likelihood Estimation (Li et al., ICCV 2021) for MMPose 1.x.

Importing the package registers every part in the ``mmpose_rle`` scope, a child of
MMPose's registries: configs name them ``mmpose_rle.RLEHead``, ``mmpose_rle.RLELoss``,
``mmpose_rle.RealNVP`` and so on. It also allow-lists the classes of MMEngine
checkpoints for ``torch.load(weights_only=True)`` (see
:mod:`mmpose_rle.engine.safe_checkpoint`).
"""

from . import datasets, engine, evaluation, models, visualization  # noqa: F401  (registers the parts)
from .engine import allow_mmengine_checkpoints
from .registry import MODELS, SCOPE
from .version import __version__

allow_mmengine_checkpoints()

__all__ = [
    '__version__',
    'MODELS',
    'SCOPE',
    'datasets',
    'engine',
    'evaluation',
    'models',
    'visualization',
]
