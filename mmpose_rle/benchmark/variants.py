"""The model variants a benchmark compares, all on the backbone of one base config.

Given an RLE config (backbone + ``GlobalAveragePooling`` + an RLE head), each variant
changes only the head, the neck and the training target:

* ``rle`` — our ``RLEHead`` + ``RLELoss`` (residual design), the base itself;
* ``mmpose_rle`` — MMPose's own ``RLEHead``/``RLELoss``;
* ``heatmap`` — SimpleBaseline: MMPose's ``HeatmapHead`` (3 deconvolutions) with
  ``MSRAHeatmap`` targets at a quarter of the input size (sigma 2), no neck;
* ``l1`` — plain regression: MMPose's ``RegressionHead`` with ``L1Loss``;
* ``reparam``, ``basic`` — our other RLE designs;
* ``official`` — our head with the official formulation and official head;
* ``integral_rle`` — :class:`~mmpose_rle.models.heads.IntegralRLEHead` when installed.
"""

import copy
from typing import Callable, Dict, List, Optional

from mmengine.config import Config

__all__ = ['VARIANTS', 'make_variant', 'DEFAULT_VARIANTS']


def _swap_target(cfg: Config, codec: dict) -> None:
    for t in cfg.train_dataloader.dataset.pipeline:
        if t['type'] == 'GenerateTarget':
            t['encoder'] = codec
    cfg.codec = codec


def _head(cfg: Config) -> dict:
    return cfg.model.head


def _rle(cfg: Config) -> None:
    pass


def _mmpose_rle(cfg: Config) -> None:
    head = _head(cfg)
    head.type, head.loss = 'RLEHead', dict(type='RLELoss', use_target_weight=True)
    head.pop('sigma_init', None)


def _loss(**kwargs) -> Callable[[Config], None]:
    def apply(cfg: Config) -> None:
        _head(cfg).loss = dict(type='mmpose_rle.RLELoss', use_target_weight=True, **kwargs)

    return apply


def _official(cfg: Config) -> None:
    _loss(formulation='official')(cfg)
    _head(cfg).type = 'mmpose_rle.OfficialRLEHead'


def _l1(cfg: Config) -> None:
    head = _head(cfg)
    cfg.model.head = dict(
        type='RegressionHead',
        in_channels=head.in_channels,
        num_joints=head.num_joints,
        loss=dict(type='L1Loss', use_target_weight=True),
        decoder=head.decoder,
    )


def _heatmap(cfg: Config) -> None:
    head = _head(cfg)
    w, h = head.decoder['input_size']
    codec = dict(type='MSRAHeatmap', input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=2)
    cfg.model.pop('neck')
    cfg.model.head = dict(
        type='HeatmapHead',
        in_channels=head.in_channels,
        out_channels=head.num_joints,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec,
    )
    cfg.model.test_cfg = dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)
    _swap_target(cfg, codec)


def _integral(cfg: Config) -> None:
    head = _head(cfg)
    w, h = head.decoder['input_size']
    cfg.model.pop('neck')
    cfg.model.head = dict(
        type='mmpose_rle.IntegralRLEHead',
        in_channels=head.in_channels,
        in_featuremap_size=(max(1, w // 32), max(1, h // 32)),
        num_joints=head.num_joints,
        decoder=head.decoder,
    )


VARIANTS: Dict[str, Callable[[Config], None]] = dict(
    rle=_rle,
    mmpose_rle=_mmpose_rle,
    heatmap=_heatmap,
    l1=_l1,
    reparam=_loss(design='reparam'),
    basic=_loss(design='basic'),
    official=_official,
    integral_rle=_integral,
)
DEFAULT_VARIANTS: List[str] = [
    'rle',
    'mmpose_rle',
    'heatmap',
    'l1',
    'reparam',
    'basic',
    'official',
    'integral_rle',
]


def make_variant(base: Config, name: str, options: Optional[dict] = None) -> Config:
    """Return a copy of ``base`` turned into variant ``name`` (``VARIANTS``)."""
    if name not in VARIANTS:
        raise ValueError(f'unknown variant {name!r}; choose from {sorted(VARIANTS)}')
    cfg = copy.deepcopy(base)
    if options:
        cfg.merge_from_dict(options)
    VARIANTS[name](cfg)
    return cfg
