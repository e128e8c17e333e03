r"""Convert checkpoints of the official RLE code into mmpose_rle checkpoints.

The official code (github.com/Jeff-sjtu/res-loglikelihood-regression, model ``RegressFlow``
in ``rlepose/models/regression_nf.py``) stores:

=====================================  ==================================================
official key                           mmpose_rle key (``TopdownPoseEstimator``)
=====================================  ==================================================
``preact.*`` (torchvision ResNet names) ``backbone.*`` (MMPose's ``ResNet``, same names)
``fc_coord.linear.{weight,bias}``      ``head.fc_coord.{weight,bias}`` (bias + 0.5)
``fc_sigma.linear.{weight,bias}``      ``head.fc_sigma.{weight,bias}``
``flow.{s,t}.*``, ``flow.mask``        ``head.loss_module.flow_model.{s,t,mask}``
(not stored: the prior N(0, I))        ``head.loss_module.flow_model.{loc,cov}`` = 0, I
(not stored: no σ calibration)         ``head.sigma_calibration.*``: the identity
``fcs.*``                              dropped (``nn.Identity`` when ``NUM_FC_FILTERS`` is
                                       ``[-1]``; hidden FC layers are not supported)
=====================================  ==================================================

for :class:`~mmpose_rle.models.OfficialRLEHead`, whose ``fc_coord``
computes ``y = x Wᵀ / ‖x‖₂ + b`` like the official ``Linear(norm=True)``.

Coordinates: the official targets are ``u / W − 0.5`` and ``v / H − 0.5``
(``_integral_target_generator`` in ``rlepose/utils/presets/simple_transform.py``), in
``[−0.5, 0.5]`` with the origin at the centre of the crop, while MMPose's ``RegressionLabel``
uses ``u / W`` and ``v / H`` in ``[0, 1]``. So ``μ_ours = μ_official + 0.5``: the converted
``fc_coord`` bias is shifted by ``+0.5``. σ̂ is normalised by the same ``W`` and ``H`` in
both, and the flow sees ``(μ̂ − μ_g) / σ̂``, which the shift leaves unchanged.

Input normalisation: the official loader reads BGR with OpenCV and converts it to RGB
(``cv2.cvtColor(..., COLOR_BGR2RGB)`` in ``rlepose/datasets/custom.py``), ``im_to_torch``
(``rlepose/utils/transforms.py``) divides by 255, and ``SimpleTransform`` subtracts
``0.406, 0.457, 0.480`` from channels 0, 1, 2 = R, G, B, with no division by a standard
deviation. MMPose's ``PoseDataPreprocessor`` computes ``(rgb − mean) / std`` in 0–255 units
after ``bgr_to_rgb``, so the same input is given by::

    mean = 255 · (0.406, 0.457, 0.480) = (103.53, 116.535, 122.4),  std = (255, 255, 255)

(:func:`official_data_preprocessor`; the config
``td-reg_res50_rle-official-8xb32-coco-256x192.py`` sets it).
"""

import pickle
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Mapping, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from mmpose_rle.models.utils.sigma_calibration import SigmaCalibration

__all__ = [
    'OFFICIAL_MEAN',
    'COORD_SHIFT',
    'FLOW_PREFIX',
    'official_data_preprocessor',
    'extract_official_state_dict',
    'infer_official_architecture',
    'convert_official_state_dict',
    'convert_official_checkpoint',
    'load_strictly',
]

#: Means the official code subtracts from the R, G, B channels of images scaled to [0, 1].
OFFICIAL_MEAN = (0.406, 0.457, 0.480)
#: ``μ_ours − μ_official`` in normalised units (centre origin → corner origin).
COORD_SHIFT = 0.5
#: Where our flow lives in the state dict of a ``TopdownPoseEstimator``.
FLOW_PREFIX = 'head.loss_module.flow_model.'
_REQUIRED = (
    'preact.conv1.weight',
    'fc_coord.linear.weight',
    'fc_coord.linear.bias',
    'fc_sigma.linear.weight',
    'fc_sigma.linear.bias',
    'flow.mask',
    'flow.s.0.0.weight',
    'flow.t.0.0.weight',
)
_KNOWN = re.compile(
    r'^(preact\.|fc_coord\.linear\.|fc_sigma\.linear\.|flow\.[st]\.|'
    r'flow\.mask$|fcs\.)'
)
_DEPTHS = {
    ((2, 2, 2, 2), False): 18,
    ((3, 4, 6, 3), False): 34,
    ((3, 4, 6, 3), True): 50,
    ((3, 4, 23, 3), True): 101,
    ((3, 8, 36, 3), True): 152,
}
_WRAPPERS = ('state_dict', 'model', 'model_state_dict', 'net')


def official_data_preprocessor() -> dict:
    """MMPose ``PoseDataPreprocessor`` settings equal to the official preprocessing.

    Returns:
        dict: ``mean = 255 · OFFICIAL_MEAN``, ``std = 255``, ``bgr_to_rgb=True`` (MMPose's
        ``LoadImage`` gives BGR; the official model sees RGB).
    """
    return dict(
        type='PoseDataPreprocessor',
        mean=[round(255 * m, 4) for m in OFFICIAL_MEAN],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
    )


def extract_official_state_dict(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The state dict in a loaded official checkpoint, without a ``module.`` prefix.

    Accepts a raw state dict (``torch.save(m.module.state_dict())``, what the official
    training script writes) or one wrapped under ``state_dict``, ``model``,
    ``model_state_dict`` or ``net``; strips the ``module.`` prefix of ``DataParallel``.
    """
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    state = checkpoint
    for key in _WRAPPERS:
        if key in state and isinstance(state[key], Mapping):
            state = state[key]
            break
    if not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(
            'not a state dict: the checkpoint holds non-tensor entries '
            f'(top-level keys {sorted(checkpoint)[:10]}) and none of '
            f'{_WRAPPERS} holds a state dict'
        )
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.') :]: v for k, v in state.items()}
    return dict(state)


def infer_official_architecture(state_dict: Mapping[str, Tensor]) -> Dict[str, Optional[int]]:
    """ResNet depth, head input channels and number of keypoints of an official state dict.

    Returns:
        dict: ``depth`` (18/34/50/101/152, ``None`` for another layout),
        ``in_channels`` ``C`` and ``num_joints`` ``K`` (``fc_coord``: ``C → 2K``).
    """
    blocks = tuple(
        len(
            {
                int(m.group(1))
                for k in state_dict
                for m in [re.match(rf'preact\.layer{i}\.(\d+)\.', k)]
                if m
            }
        )
        for i in range(1, 5)
    )
    bottleneck = 'preact.layer1.0.conv3.weight' in state_dict
    out, in_channels = state_dict['fc_coord.linear.weight'].shape
    return dict(
        depth=_DEPTHS.get((blocks, bottleneck)),
        in_channels=int(in_channels),
        num_joints=int(out) // 2,
    )


def _check(state_dict: Mapping[str, Tensor]) -> None:
    """Raise a clear error unless ``state_dict`` has the official ``RegressFlow`` layout."""
    missing = [k for k in _REQUIRED if k not in state_dict]
    if missing:
        raise KeyError(
            'not a checkpoint of the official RLE model (RegressFlow of '
            f'Jeff-sjtu/res-loglikelihood-regression): missing keys {missing} '
            f'(it has {len(state_dict)} keys, e.g. {sorted(state_dict)[:5]})'
        )
    unknown = [k for k in state_dict if not _KNOWN.match(k)]
    if unknown:
        raise KeyError(
            f'unexpected keys in the official RLE checkpoint: {unknown[:10]}'
            f'{" ..." if len(unknown) > 10 else ""}'
        )
    fcs = [k for k in state_dict if k.startswith('fcs.')]
    if fcs:
        raise ValueError(
            f'the checkpoint has hidden FC layers ({fcs[:4]}): it was trained with '
            'NUM_FC_FILTERS > 0, which OfficialRLEHead does not have; only the '
            'published setting NUM_FC_FILTERS: [-1] (fcs = Identity) converts'
        )
    coord, sigma = state_dict['fc_coord.linear.weight'], state_dict['fc_sigma.linear.weight']
    if coord.shape != sigma.shape or coord.shape[0] % 2:
        raise ValueError(
            f'fc_coord {tuple(coord.shape)} and fc_sigma {tuple(sigma.shape)} must both be (2K, C)'
        )
    mask = state_dict['flow.mask']
    if mask.dim() != 2:
        raise ValueError(f'flow.mask must be (num_layers, dim), got {tuple(mask.shape)}')


def convert_official_state_dict(state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Map an official ``RegressFlow`` state dict to our ``TopdownPoseEstimator``'s.

    Args:
        state_dict (Mapping[str, Tensor]): Official keys, without ``module.`` (see
            :func:`extract_official_state_dict`).

    Returns:
        OrderedDict[str, Tensor]: Keys of a model with ``ResNet`` backbone and
        ``OfficialRLEHead``; ``head.fc_coord.bias`` is the official bias
        ``+ COORD_SHIFT``; the flow's prior ``loc = 0``, ``cov = I`` are added.

    Raises:
        KeyError: The official keys are missing (named) or unknown keys are present.
        ValueError: Hidden FC layers (``fcs``) or inconsistent head shapes.
    """
    _check(state_dict)
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    for key, value in state_dict.items():
        value = value.detach().clone()
        if key.startswith('preact.'):
            out['backbone.' + key[len('preact.') :]] = value
        elif key.startswith('fc_coord.linear.'):
            name = key[len('fc_coord.linear.') :]
            out['head.fc_coord.' + name] = value + COORD_SHIFT if name == 'bias' else value
        elif key.startswith('fc_sigma.linear.'):
            out['head.fc_sigma.' + key[len('fc_sigma.linear.') :]] = value
        elif key.startswith('flow.'):
            out[FLOW_PREFIX + key[len('flow.') :]] = value
    dim = state_dict['flow.mask'].shape[1]
    dtype = state_dict['flow.mask'].dtype
    out[FLOW_PREFIX + 'loc'] = torch.zeros(dim, dtype=dtype)
    out[FLOW_PREFIX + 'cov'] = torch.eye(dim, dtype=dtype)
    num_joints = state_dict['fc_coord.linear.weight'].shape[0] // 2
    for name, value in SigmaCalibration(num_joints, 2).state_dict().items():  # every mode's
        out['head.sigma_calibration.' + name] = value.to(dtype)  # identity map
    return out


def load_strictly(model: nn.Module, state_dict: Mapping[str, Tensor]) -> None:
    """Load a converted state dict into ``model``; name every missing/unexpected key."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [
        f'{k}: {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in state_dict.items()
        if k in own and v.shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        raise ValueError(
            'the converted checkpoint does not fit the model (check the config: '
            'head type mmpose_rle.OfficialRLEHead, backbone depth, in_channels, '
            'num_joints): '
            f'missing {missing[:10]}, unexpected {unexpected[:10]}, shape mismatches '
            f'{shapes[:10]}'
        )
    model.load_state_dict(state_dict, strict=True)


def convert_official_checkpoint(
    src: Union[str, Path], dst: Union[str, Path]
) -> Tuple[dict, 'OrderedDict[str, Tensor]']:
    """Convert the official checkpoint file ``src`` into an MMEngine checkpoint ``dst``.

    ``dst`` holds ``{'meta': ..., 'state_dict': ...}``; the meta records the source, the
    architecture (:func:`infer_official_architecture`), the ``cfg_options`` that fit it,
    the coordinate shift and the matching ``data_preprocessor``.

    Returns:
        tuple[dict, OrderedDict]: The meta and the converted state dict.
    """
    try:
        checkpoint = torch.load(str(src), map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f'{src} holds objects other than tensors and plain containers, which are not '
            'loaded (weights_only=True); load it yourself, then use '
            'extract_official_state_dict and convert_official_state_dict'
        ) from err
    state = extract_official_state_dict(checkpoint)
    converted = convert_official_state_dict(state)
    arch = infer_official_architecture(state)
    options = {
        'model.head.type': 'mmpose_rle.OfficialRLEHead',
        'model.head.in_channels': arch['in_channels'],
        'model.head.num_joints': arch['num_joints'],
    }
    if arch['depth'] is not None:
        options['model.backbone.depth'] = arch['depth']
    meta = dict(
        converted_from='official RLE RegressFlow '
        '(github.com/Jeff-sjtu/res-loglikelihood-regression)',
        source=str(src),
        **arch,
        cfg_options=options,
        coord_bias_shift=COORD_SHIFT,
        data_preprocessor=official_data_preprocessor(),
    )
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save({'meta': meta, 'state_dict': converted}, str(dst))
    return meta, converted
