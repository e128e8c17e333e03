"""Registries of mmpose_rle: children of MMPose's, with scope ``mmpose_rle``.

Every part of this package is registered here, never in MMPose's own registries, so
MMPose's ``RLEHead``/``RLELoss`` stay MMPose's. Configs name our parts with the scope
prefix, which any registry of the OpenMMLab tree resolves through its children::

    >>> from mmpose.registry import MODELS as MMPOSE_MODELS
    >>> import mmpose_rle  # registers everything
    >>> head = MMPOSE_MODELS.build(dict(type='mmpose_rle.RLEHead', in_channels=8,
    ...                                 num_joints=2))
"""

from mmengine.registry import Registry
from mmpose.registry import DATA_SAMPLERS as MMPOSE_DATA_SAMPLERS
from mmpose.registry import DATASETS as MMPOSE_DATASETS
from mmpose.registry import HOOKS as MMPOSE_HOOKS
from mmpose.registry import INFERENCERS as MMPOSE_INFERENCERS
from mmpose.registry import METRICS as MMPOSE_METRICS
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.registry import TRANSFORMS as MMPOSE_TRANSFORMS
from mmpose.registry import VISUALIZERS as MMPOSE_VISUALIZERS

__all__ = [
    'SCOPE',
    'MODELS',
    'HOOKS',
    'DATASETS',
    'DATA_SAMPLERS',
    'METRICS',
    'VISUALIZERS',
    'INFERENCERS',
    'TRANSFORMS',
]

SCOPE = 'mmpose_rle'

#: Models: flows, losses and heads.
MODELS = Registry('model', parent=MMPOSE_MODELS, scope=SCOPE, locations=['mmpose_rle.models'])
#: Runner hooks.
HOOKS = Registry('hook', parent=MMPOSE_HOOKS, scope=SCOPE, locations=['mmpose_rle.engine'])
#: Data-set wrappers.
DATASETS = Registry('dataset', parent=MMPOSE_DATASETS, scope=SCOPE, locations=['mmpose_rle.engine'])
#: Samplers.
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMPOSE_DATA_SAMPLERS, scope=SCOPE, locations=['mmpose_rle.engine']
)
#: Evaluation metrics.
METRICS = Registry(
    'metric', parent=MMPOSE_METRICS, scope=SCOPE, locations=['mmpose_rle.evaluation']
)
#: Visualizers.
VISUALIZERS = Registry(
    'visualizer', parent=MMPOSE_VISUALIZERS, scope=SCOPE, locations=['mmpose_rle.visualization']
)
#: Inferencers.
INFERENCERS = Registry(
    'inferencer', parent=MMPOSE_INFERENCERS, scope=SCOPE, locations=['mmpose_rle.apis']
)
#: Data transforms.
TRANSFORMS = Registry(
    'transform', parent=MMPOSE_TRANSFORMS, scope=SCOPE, locations=['mmpose_rle.datasets']
)
