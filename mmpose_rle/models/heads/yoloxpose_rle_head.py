r"""One-stage RLE: MMPose's YOLOX-Pose head with a σ branch and the RLE loss.

:class:`YOLOXPoseRLEHead` subclasses MMPose's ``YOLOXPoseHead``. Its layers are MMPose's
plus a ``1×1`` σ convolution per level (:class:`YOLOXPoseRLEHeadModule`); its training
runs MMPose's loss unchanged (classification, objectness, box, OKS, visibility, and the
auxiliary box term) and adds :class:`~mmpose_rle.models.losses.RLELoss` on the positive
priors that MMPose's assigner picks.

**Units.** Each positive prior ``p`` of an instance with box ``b`` predicts keypoints ``μ̂``
(pixels of the model input, MMPose's decoding) and σ logits ``ℓ``. The RLE loss sees the
keypoints in the instance's frame::

    u = (μ − c_b) / s_b,      σ̂ = sigmoid(ℓ),      x̄ = (û − u_gt) / σ̂

with ``c_b`` the box centre and ``s_b`` the instance's size: ``√(w_b h_b)``
(``residual_unit='instance'``, the default) or the prior's stride (``'stride'``). In
training ``b`` is the ground-truth box; at test time the predicted one. So ``σ̂`` is a
fraction of the instance's size, as a top-down RLE head's is a fraction of its crop, and
the flow sees residuals of the same scale for small and large instances — as OKS, which
divides the error by the instance's scale (OKS uses the segment area; the box is used here
because the box is what the model predicts at test time). Ultralytics' YOLO pose models
keep their RLE residual in grid cells (the stride unit), where ``σ̂`` of a large instance
must be larger than of a small one for the same relative error; ``'stride'`` reproduces
that for comparison. ``c_b`` only matters in the ``'basic'`` design (whose flow acts on
``u`` itself); the residual and reparameterised designs depend on ``u − u_gt`` alone.

**Loss.** ``loss_rle = w · RLELoss(u, ℓ, u_gt, v_k · λ_k)``: the RLE negative
log-likelihood per positive prior (``size_average``), keypoint visibility ``v_k`` times the
data set's ``joint_weights`` ``λ_k`` (from ``metainfo``; 1 without), weight ``w``
(``loss_rle_weight``). With ``keypoint_reduction='sum'`` (the default) these weights enter as
they are, so an instance contributes the sum of its ``K`` keypoints' negative
log-likelihoods, as in MMPose's top-down ``RLELoss``; with ``'mean'`` they are divided by
their sum over the instance's keypoints, ``v_k λ_k / Σ_j v_j λ_j``, so it contributes their
weighted mean, as MMPose's ``OKSLoss`` with ``norm_target_weight`` reduces its term. The
sum grows with ``K`` while the other terms of the loss do not. Any design, ``Q`` and
formulation of ``RLELoss`` applies. Whether it replaces MMPose's OKS term or is an auxiliary
beside it is the OKS loss's ``loss_weight`` (0 replaces it). With ``keypoint_detach`` the
term sees ``u`` through a stop-gradient: it learns σ and the flow, and ``μ̂`` learns from
MMPose's losses alone. The loss is a negative
log-density and may be negative; only its gradients matter to training.

**Paired with MMPose's head.** The σ convolutions and the flow draw their weights on a forked
random state, and the σ convolutions are not ``nn.Conv2d`` modules (a model-level
``init_cfg`` for convolutions passes them by), so a model with this head draws every shared
weight (backbone, neck, MMPose's branches) exactly as the same model with MMPose's head at the
same seed: a comparison of the two measures the RLE term, not another initialisation.

**Prediction.** MMPose's decoding, score threshold, top-k and NMS
(:func:`~mmpose_rle.models.utils.select_priors`), and per kept instance:

* ``keypoints`` ``(n, K, 2)``: ``μ̂`` (in the basic design ``c_b + s_b f_φ(u)``);
* ``instance_sizes`` ``(n,)``: ``s_b`` in input pixels (what calibration divides by);
* ``keypoint_sigmas`` ``(n, K, 2)``: the predictive RMS error per coordinate in pixels of
  the model input, ``s_b · RMS(u)`` through the single-view σ map
  (:class:`~mmpose_rle.models.utils.SigmaCalibration`), and ``keypoint_sigmas_image`` the
  same in image pixels;
* ``keypoint_scores``: MMPose's visibility (``keypoint_score='visibility'``), ``1 − mean
  σ̂`` (``'sigma'``) or their product (``'product'``); ``keypoints_visible`` is always the
  visibility.
"""

from typing import List, NamedTuple, Optional, Tuple

import torch
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.utils.typing import ConfigType, Features, OptSampleList, Predictions
from torch import Tensor

from mmpose_rle.registry import MODELS

from ..utils.prior_selection import select_priors
from .one_stage_rle_mixin import (
    KEYPOINT_REDUCTIONS,
    KEYPOINT_SCORES,
    RESIDUAL_UNITS,
    OneStageRLEMixin,
)
from .yoloxpose_rle_module import YOLOXPoseRLEHeadModule

__all__ = [
    'YOLOXPoseRLEHead',
    'OneStageOutputs',
    'RESIDUAL_UNITS',
    'KEYPOINT_SCORES',
    'KEYPOINT_REDUCTIONS',
]


class OneStageOutputs(NamedTuple):
    """Every prior's decoded outputs (``N`` priors over all levels, ``B`` images).

    Attributes:
        scores (Tensor): ``(B, N, C)`` class × objectness probabilities.
        bboxes (Tensor): ``(B, N, 4)`` xyxy boxes, input pixels (not clamped).
        keypoints (Tensor): ``(B, N, K, 2)`` ``μ̂``, input pixels.
        visibility (Tensor): ``(B, N, K)`` visibility probabilities.
        sigma (Tensor): ``(B, N, K, 2)`` ``σ̂ = sigmoid(ℓ)``, instance units.
        strides (Tensor): ``(N,)`` the priors' strides.
    """

    scores: Tensor
    bboxes: Tensor
    keypoints: Tensor
    visibility: Tensor
    sigma: Tensor
    strides: Tensor


@MODELS.register_module()
class YOLOXPoseRLEHead(OneStageRLEMixin, YOLOXPoseHead):
    """YOLOX-Pose with a σ branch and the RLE loss (module docstring).

    Args:
        num_keypoints (int): ``K``.
        head_module_cfg (dict): Arguments of :class:`YOLOXPoseRLEHeadModule` (MMPose's
            ``head_module_cfg``); ``featmap_strides`` and ``num_keypoints`` are filled in.
        loss_rle (dict): The RLE loss, built in ``mmpose_rle``'s registry. Default:
            ``mmpose_rle.RLELoss`` with target weights.
        loss_rle_weight (float): Weight ``w`` of the RLE term. Default: 1.
        keypoint_reduction (str): ``'sum'`` or ``'mean'`` over an instance's keypoints
            (module docstring). Default: ``'sum'``.
        residual_unit (str): ``'instance'`` or ``'stride'``. Default: ``'instance'``.
        keypoint_score (str): ``'visibility'``, ``'sigma'`` or ``'product'``. Default:
            ``'visibility'``.
        metainfo (str, optional): A data set's metainfo file, for its ``joint_weights``.
            Default: None (all 1).
        sigma_init (float, optional): Initial ``σ̂`` (:class:`YOLOXPoseRLEHeadModule`).
        sigma_detach (bool): The σ branch reads the pose features through a stop-gradient
            (:class:`YOLOXPoseRLEHeadModule`). Default: False.
        keypoint_detach (bool): The RLE term reads the keypoints ``μ̂`` through a
            stop-gradient: it trains σ (and the shared layers through σ) and the flow, and
            the keypoints learn from MMPose's losses alone. Default: False.
        **kwargs: ``YOLOXPoseHead``'s other arguments (assigner, prior generator, losses).
    """

    def __init__(
        self,
        num_keypoints: int,
        head_module_cfg: ConfigType,
        loss_rle: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        loss_rle_weight: float = 1.0,
        keypoint_reduction: str = 'sum',
        residual_unit: str = 'instance',
        keypoint_score: str = 'visibility',
        metainfo: Optional[str] = None,
        sigma_init: Optional[float] = None,
        sigma_detach: bool = False,
        keypoint_detach: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(num_keypoints, head_module_cfg=None, **kwargs)
        self.head_module = YOLOXPoseRLEHeadModule(
            **dict(
                head_module_cfg,
                featmap_strides=self.featmap_strides,
                num_keypoints=num_keypoints,
                sigma_init=sigma_init,
                sigma_detach=sigma_detach,
            )
        )
        self.init_rle(
            num_keypoints,
            loss_rle,
            loss_rle_weight,
            keypoint_reduction,
            residual_unit,
            keypoint_score,
            metainfo,
            keypoint_detach,
        )

    def forward(self, feats: Features) -> Tuple[List[Tensor], ...]:
        """MMPose's five outputs per level (classification, objectness, box, keypoint
        offsets, visibility), so that MMPose's loss runs unchanged; the σ logits of the
        same pass are kept while :meth:`loss` runs. :meth:`forward_with_sigma` returns all six."""
        outputs = self.forward_with_sigma(feats)
        if self._pending is not None:
            self._pending.update(offsets=outputs[3], sigmas=outputs[5])
        return outputs[:5]

    def forward_with_sigma(self, feats: Features) -> Tuple[List[Tensor], ...]:
        """The module's six outputs per level, σ logits ``(B, 2K, H, W)`` last."""
        assert isinstance(feats, (tuple, list))
        return self.head_module(feats)

    def select(
        self, scores: Tensor, bboxes: Tensor, test_cfg: ConfigType
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """MMPose's selection of one image's priors (:func:`~mmpose_rle.models.utils.
        select_priors`): ``(N, C)`` scores and ``(N, 4)`` boxes to the kept priors' indices
        ``(n,)``, scores and labels."""
        return select_priors(scores, bboxes, test_cfg)

    def prior_outputs(self, feats: Features) -> OneStageOutputs:
        """Every prior's decoded outputs, before selection (:class:`OneStageOutputs`): the
        part of :meth:`predict` that the ONNX graph also exports."""
        cls_maps, obj_maps, bbox_maps, offset_maps, vis_maps, sigma_maps = self.forward_with_sigma(
            feats
        )
        featmap_sizes = [m.shape[2:] for m in cls_maps]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, dtype=cls_maps[0].dtype, device=cls_maps[0].device, with_stride=True
            )
        )
        flat = self._flatten_predictions
        keypoints = self.decode_kpt_reg(flat(offset_maps), priors[:, :2], priors[:, -1])
        return OneStageOutputs(
            scores=flat(cls_maps).sigmoid() * flat(obj_maps).sigmoid(),
            bboxes=self.decode_bbox(flat(bbox_maps), priors[:, :2], priors[:, -1]),
            keypoints=keypoints,
            visibility=flat(vis_maps).sigmoid(),
            sigma=flat(sigma_maps).sigmoid().reshape(*keypoints.shape),
            strides=priors[:, -1],
        )

    def predict(
        self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}
    ) -> Predictions:
        """One ``InstanceData`` per image with MMPose's fields and ``keypoint_sigmas``
        (module docstring); coordinates and boxes in pixels of the model input, as MMPose's
        (the pose estimator maps them to the image)."""
        out = self.prior_outputs(feats)
        results = []
        for i, sample in enumerate(batch_data_samples):
            keep, best, labels = self.select(out.scores[i], out.bboxes[i], test_cfg)
            results.append(
                self.instances(
                    sample.metainfo,
                    best,
                    labels,
                    out.bboxes[i, keep],
                    out.keypoints[i, keep],
                    out.visibility[i, keep],
                    out.sigma[i, keep],
                    out.strides[keep],
                )
            )
        return results
