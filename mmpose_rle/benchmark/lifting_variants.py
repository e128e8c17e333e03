"""The lifting heads the 3-D benchmark compares: the loss crossed with init and units.

``RLELiftingHead`` differs from MMPose's ``TemporalRegressionHead`` + ``MSELoss`` in three
ways: the loss, the initialisation of its ``1×1`` convolutions and the units it regresses
in. The four variants cross the loss with the other two, on the same TCN of the quick-start
configs (``configs/quickstart3d/tcn-{1,27}frm_{mse,rle}_synthetic3d.py``):

================  ==============================  ====  ===============  ==========
variant           head                            loss  initialisation   units
================  ==============================  ====  ===============  ==========
``mse``           ``TemporalRegressionHead``      MSE   PyTorch default  labels (m)
``mse_rle_init``  ``CubeTemporalRegressionHead``  MSE   Normal(0.01)     2 m cube
``rle``           ``RLELiftingHead``              RLE   Normal(0.01)     2 m cube
``rle_mse_init``  ``RLELiftingHead``              RLE   PyTorch default  labels (m)
================  ==============================  ====  ===============  ==========

MMPose's head's ``init_cfg`` (:data:`MMPOSE_LIFTING_INIT_CFG`) initialises only ``Linear``
layers, so its convolution keeps PyTorch's default. ``rle_mse_init`` gives ours the same
``init_cfg`` and ``cube_mm=None``: its two convolutions keep PyTorch's default, and its flow
starts exactly as in ``rle`` (the flow's ``Linear`` layers get ``Normal(0.01)`` with zero
bias from either ``init_cfg``, then the flow's own Xavier weights).
:data:`LIFTING_CONTRASTS` names the paired differences and what each isolates.
"""

import os
import os.path as osp
from typing import Dict, NamedTuple, Tuple

__all__ = [
    'LiftingVariant',
    'LIFTING_VARIANTS',
    'LIFTING_CONTRASTS',
    'MMPOSE_LIFTING_INIT_CFG',
    'write_variant_config',
]


class LiftingVariant(NamedTuple):
    """One head of the benchmark.

    Attributes:
        base (str): ``'mse'`` or ``'rle'``: the quick-start config it changes.
        head (dict): Merged into the base's ``model.head`` (empty: the base as shipped).
        loss (str): The loss, for the report.
        init (str): Initialisation and units, for the report.
    """

    base: str
    head: dict
    loss: str
    init: str


_DEFAULT, _OURS = 'PyTorch default, metres', 'Normal(0.01), 2 m cube'

#: ``TemporalRegressionHead.default_init_cfg`` of MMPose 1.3 (a test checks it against MMPose).
MMPOSE_LIFTING_INIT_CFG = [dict(type='Normal', layer=['Linear'], std=0.01, bias=0)]

#: The variants, by name (module docstring).
LIFTING_VARIANTS: Dict[str, LiftingVariant] = {
    'mse': LiftingVariant('mse', {}, 'MSE', _DEFAULT),
    'mse_rle_init': LiftingVariant(
        'mse', dict(type='mmpose_rle.CubeTemporalRegressionHead'), 'MSE', _OURS
    ),
    'rle': LiftingVariant('rle', {}, 'RLE', _OURS),
    'rle_mse_init': LiftingVariant(
        'rle', dict(init_cfg=MMPOSE_LIFTING_INIT_CFG, cube_mm=None), 'RLE', _DEFAULT
    ),
}

#: Paired differences ``(a, b, what a − b isolates)``.
LIFTING_CONTRASTS: Tuple[Tuple[str, str, str], ...] = (
    ('rle', 'mse', 'as shipped: loss, init and units together'),
    ('rle', 'mse_rle_init', 'the loss, at Normal(0.01) in the cube'),
    ('rle_mse_init', 'mse', "the loss, at MMPose's init in metres"),
    ('mse_rle_init', 'mse', 'init and units, MSE loss'),
    ('rle', 'rle_mse_init', 'init and units, RLE loss'),
)


def write_variant_config(name: str, config_dir: str, temporal: bool, out_dir: str) -> str:
    """The config of variant ``name``.

    Args:
        name (str): A key of :data:`LIFTING_VARIANTS`.
        config_dir (str): The folder of the quick-start configs.
        temporal (bool): The 27-frame configs instead of the 1-frame ones.
        out_dir (str): Where a derived config is written.

    Returns:
        str: The base config itself for a variant without head changes; otherwise a file
        ``{out_dir}/tcn-{frames}_{name}_synthetic3d.py`` that inherits the base and merges
        the variant's ``head`` into ``model.head``.
    """
    variant = LIFTING_VARIANTS[name]
    frames = '27frm' if temporal else '1frm'
    base = osp.abspath(osp.join(config_dir, f'tcn-{frames}_{variant.base}_synthetic3d.py'))
    if not variant.head:
        return base
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, f'tcn-{frames}_{name}_synthetic3d.py')
    with open(path, 'w') as f:
        f.write(f'# {name}: {variant.loss}, {variant.init}\n')
        f.write(f'_base_ = [{base!r}]\n\nmodel = dict(head={variant.head!r})\n')
    return path
