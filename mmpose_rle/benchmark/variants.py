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
* ``integral_rle`` — :class:`~mmpose_rle.models.heads.IntegralRLEHead` (soft-argmax RLE);
* ``dense_rle`` — :class:`~mmpose_rle.models.heads.DenseRLEHead` (soft-argmax RLE with a
  dense heatmap loss);
* ``dsnt`` — MMPose's ``DSNTHead`` with its COCO config's loss (SmoothL1 + ``JSDiscretLoss``)
  and ``IntegralRegressionLabel`` targets (heatmaps at a quarter of the input, sigma 2);
* ``integral_regression`` — MMPose's ``IntegralRegressionHead`` with ``SmoothL1Loss`` and the
  same targets.

The heatmap-based heads use no neck; the soft-argmax ones build SimpleBaseline deconvolutions
as the heatmap head does (three of 256 channels).

A one-stage base config (:class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead` or
:class:`~mmpose_rle.models.heads.RTMORLEHead`) has its own
variants (:mod:`~mmpose_rle.benchmark.one_stage_variants`); :func:`make_variant` builds
either kind and refuses to mix them, and :func:`default_variants` gives a base's default.
"""

import copy
from typing import Callable, Dict, List, Optional

from mmengine.config import Config

from .one_stage_variants import (
    ONE_STAGE_VARIANTS,
    VARIANT_HEADS,
    is_one_stage,
    one_stage_default_variants,
)

__all__ = ['VARIANTS', 'TOP_DOWN_VARIANTS', 'make_variant', 'DEFAULT_VARIANTS', 'default_variants']


def _head(cfg: Config) -> dict:
    return cfg.model.head


def _replace_head(
    cfg: Config,
    head: dict,
    keep_neck: bool = False,
    test_cfg: Optional[dict] = None,
    codec: Optional[dict] = None,
) -> None:
    """Put ``head`` in; drop the neck unless ``keep_neck``; set ``test_cfg``; and with a
    ``codec``, make it the training target's encoder and ``cfg.codec``."""
    if not keep_neck:
        cfg.model.pop('neck')
    cfg.model.head = head
    if test_cfg is not None:
        cfg.model.test_cfg = test_cfg
    if codec is not None:
        for t in cfg.train_dataloader.dataset.pipeline:
            if t['type'] == 'GenerateTarget':
                t['encoder'] = codec
        cfg.codec = codec


def _quarter_heatmap(head: dict, codec_type: str, **kwargs) -> dict:
    """A heatmap codec at a quarter of the input size (sigma 2), as SimpleBaseline."""
    w, h = head.decoder['input_size']
    return dict(type=codec_type, input_size=(w, h), heatmap_size=(w // 4, h // 4), **kwargs)


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
    regression = dict(
        type='RegressionHead',
        in_channels=head.in_channels,
        num_joints=head.num_joints,
        loss=dict(type='L1Loss', use_target_weight=True),
        decoder=head.decoder,
    )
    _replace_head(cfg, regression, keep_neck=True)


def _heatmap(cfg: Config) -> None:
    head = _head(cfg)
    codec = _quarter_heatmap(head, 'MSRAHeatmap', sigma=2)
    heatmap = dict(
        type='HeatmapHead',
        in_channels=head.in_channels,
        out_channels=head.num_joints,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec,
    )
    test_cfg = dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True)
    _replace_head(cfg, heatmap, test_cfg=test_cfg, codec=codec)


def _soft_argmax_head(head: dict, head_type: str, decoder: dict, **kwargs) -> dict:
    """A head on the backbone's feature map (``in_featuremap_size``: the input over 32)."""
    w, h = head.decoder['input_size']
    return dict(
        type=head_type,
        in_channels=head.in_channels,
        in_featuremap_size=(max(1, w // 32), max(1, h // 32)),
        num_joints=head.num_joints,
        **kwargs,
        decoder=decoder,
    )


def _soft_argmax_rle(head_type: str) -> Callable[[Config], None]:
    def apply(cfg: Config) -> None:
        head = _head(cfg)
        _replace_head(cfg, _soft_argmax_head(head, head_type, head.decoder))

    return apply


def _mmpose_integral(head_type: str, loss: dict) -> Callable[[Config], None]:
    def apply(cfg: Config) -> None:
        head = _head(cfg)
        codec = _quarter_heatmap(head, 'IntegralRegressionLabel', sigma=2.0, normalize=True)
        test_cfg = dict(flip_test=True, shift_coords=True, shift_heatmap=True)
        integral = _soft_argmax_head(head, head_type, codec, loss=loss)
        _replace_head(cfg, integral, test_cfg=test_cfg, codec=codec)

    return apply


TOP_DOWN_VARIANTS: Dict[str, Callable[[Config], None]] = dict(
    rle=_rle,
    mmpose_rle=_mmpose_rle,
    heatmap=_heatmap,
    l1=_l1,
    reparam=_loss(design='reparam'),
    basic=_loss(design='basic'),
    official=_official,
    integral_rle=_soft_argmax_rle('mmpose_rle.IntegralRLEHead'),
    dense_rle=_soft_argmax_rle('mmpose_rle.DenseRLEHead'),
    dsnt=_mmpose_integral(
        'DSNTHead',
        dict(
            type='MultipleLossWrapper',
            losses=[
                dict(type='SmoothL1Loss', use_target_weight=True),
                dict(type='JSDiscretLoss', use_target_weight=True),
            ],
        ),
    ),
    integral_regression=_mmpose_integral(
        'IntegralRegressionHead', dict(type='SmoothL1Loss', use_target_weight=True)
    ),
)
#: Every variant, top-down and one-stage.
VARIANTS: Dict[str, Callable[[Config], None]] = {**TOP_DOWN_VARIANTS, **ONE_STAGE_VARIANTS}
#: The variants a benchmark runs by default on a top-down base: all of them, in the order above.
DEFAULT_VARIANTS: List[str] = list(TOP_DOWN_VARIANTS)


def default_variants(base: Config) -> List[str]:
    """The variants a benchmark runs on ``base`` by default: :data:`DEFAULT_VARIANTS`, or
    the one-stage baseline and ours for a one-stage base."""
    return one_stage_default_variants(base) if is_one_stage(base) else list(DEFAULT_VARIANTS)


def make_variant(
    base: Config,
    name: str,
    options: Optional[dict] = None,
    variant_options: Optional[dict] = None,
) -> Config:
    """Return a copy of ``base`` turned into variant ``name`` (``VARIANTS``).

    ``options`` are merged into the base before the variant swaps its head in;
    ``variant_options`` after (for the arguments of the variant's own head).
    """
    if name not in VARIANTS:
        raise ValueError(f'unknown variant {name!r}; choose from {sorted(VARIANTS)}')
    if (name in ONE_STAGE_VARIANTS) != is_one_stage(base):
        kind = 'one-stage' if is_one_stage(base) else 'top-down'
        raise ValueError(
            f'variant {name!r} does not apply to a {kind} base config; choose from '
            f'{default_variants(base) if kind == "one-stage" else sorted(TOP_DOWN_VARIANTS)}'
        )
    if name in ONE_STAGE_VARIANTS and VARIANT_HEADS[name] != base.model.head.type:
        applicable = [n for n, head in VARIANT_HEADS.items() if head == base.model.head.type]
        raise ValueError(
            f'variant {name!r} applies to a base with {VARIANT_HEADS[name]}, not '
            f'{base.model.head.type}; choose from {applicable}'
        )
    cfg = copy.deepcopy(base)
    if options:
        cfg.merge_from_dict(options)
    VARIANTS[name](cfg)
    if variant_options:
        cfg.merge_from_dict(variant_options)
    return cfg
