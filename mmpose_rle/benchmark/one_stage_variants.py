"""The one-stage variants a benchmark compares, on the model of one one-stage RLE config.

Given a config with :class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead`, each variant changes
only the head's type and losses:

* ``yoloxpose`` — MMPose's ``YOLOXPoseHead`` with its own losses (the baseline);
* ``yoloxpose_rle`` — ours, the RLE term beside MMPose's OKS loss (the base itself);
* ``yoloxpose_rle_only`` — the RLE term replacing the OKS loss (its weight 0);
* ``yoloxpose_rle_stride`` — the residual in strides (grid cells, Ultralytics' unit) instead
  of the instance's size;
* ``yoloxpose_rle_exact`` — the ``'exact'`` (normalised) formulation of the RLE loss;
* ``yoloxpose_rle_kpt_mean`` — each instance's RLE term the weighted mean over its keypoints
  (``keypoint_reduction='mean'``, as MMPose's OKS loss reduces its term) instead of their sum;
* ``yoloxpose_rle_sigma_only`` — the RLE term reads the keypoints through a stop-gradient
  (``keypoint_detach=True``): it learns σ, and the keypoints learn from MMPose's losses alone.

Given a config with :class:`~mmpose_rle.models.heads.RTMORLEHead`:

* ``rtmo`` — MMPose's ``RTMOHead`` with its own losses (the baseline);
* ``rtmo_rle`` — ours, the RLE term on the regression branch (the base itself).
"""

from typing import Callable, Dict, List

from mmengine.config import Config

__all__ = [
    'ONE_STAGE_VARIANTS',
    'ONE_STAGE_DEFAULT_VARIANTS',
    'RLE_HEADS',
    'VARIANT_HEADS',
    'is_one_stage',
    'one_stage_default_variants',
]

#: The head types of one-stage RLE base configs, and the MMPose head each one swaps in for.
RLE_HEADS = {'mmpose_rle.YOLOXPoseRLEHead': 'YOLOXPoseHead', 'mmpose_rle.RTMORLEHead': 'RTMOHead'}
_RLE_ONLY_ARGS = (
    'loss_rle',
    'loss_rle_weight',
    'keypoint_reduction',
    'residual_unit',
    'keypoint_score',
    'metainfo',
    'sigma_init',
    'sigma_detach',
    'keypoint_detach',
)


def is_one_stage(cfg: Config) -> bool:
    """Whether ``cfg``'s head is one of the one-stage RLE heads (a one-stage base config)."""
    return cfg.model.head.get('type') in RLE_HEADS


def _baseline(cfg: Config) -> None:
    head = cfg.model.head
    head.type = RLE_HEADS[head.type]
    for key in _RLE_ONLY_ARGS:
        head.pop(key, None)


def _base(cfg: Config) -> None:
    pass


def _rle_only(cfg: Config) -> None:
    cfg.model.head.loss_oks.loss_weight = 0.0


def _stride(cfg: Config) -> None:
    cfg.model.head.residual_unit = 'stride'


def _exact(cfg: Config) -> None:
    cfg.model.head.loss_rle = dict(cfg.model.head.loss_rle, formulation='exact')


def _kpt_mean(cfg: Config) -> None:
    cfg.model.head.keypoint_reduction = 'mean'


def _sigma_only(cfg: Config) -> None:
    cfg.model.head.keypoint_detach = True


ONE_STAGE_VARIANTS: Dict[str, Callable[[Config], None]] = dict(
    yoloxpose=_baseline,
    yoloxpose_rle=_base,
    yoloxpose_rle_only=_rle_only,
    yoloxpose_rle_stride=_stride,
    yoloxpose_rle_exact=_exact,
    yoloxpose_rle_kpt_mean=_kpt_mean,
    yoloxpose_rle_sigma_only=_sigma_only,
    rtmo=_baseline,
    rtmo_rle=_base,
)
#: The base head type each variant applies to.
VARIANT_HEADS: Dict[str, str] = {
    name: 'mmpose_rle.RTMORLEHead' if name.startswith('rtmo') else 'mmpose_rle.YOLOXPoseRLEHead'
    for name in ONE_STAGE_VARIANTS
}
#: The one-stage variants a benchmark runs by default on a YOLOX-Pose base: the baseline
#: and ours.
ONE_STAGE_DEFAULT_VARIANTS: List[str] = ['yoloxpose', 'yoloxpose_rle']


def one_stage_default_variants(cfg: Config) -> List[str]:
    """The baseline and ours for ``cfg``'s one-stage RLE head."""
    if cfg.model.head.type == 'mmpose_rle.RTMORLEHead':
        return ['rtmo', 'rtmo_rle']
    return list(ONE_STAGE_DEFAULT_VARIANTS)
