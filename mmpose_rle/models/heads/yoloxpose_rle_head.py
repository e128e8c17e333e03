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

**Prediction.** MMPose's decoding, score threshold, top-k and NMS (its public helpers
``filter_scores_and_topk`` and ``nms_torch``), and per kept instance:

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

from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.evaluation.functional import nms_torch
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.models.utils import filter_scores_and_topk
from mmpose.utils.typing import ConfigType, Features, OptSampleList, Predictions
from torch import Tensor

from mmpose_rle.registry import MODELS

from ..losses.rle_predictive import RLEPredictive
from ..utils.image_sigmas import input_to_image_sigmas
from ..utils.sigma_calibration import SigmaCalibration
from .predictive_mixin import RLEPredictiveMixin
from .yoloxpose_rle_module import YOLOXPoseRLEHeadModule

__all__ = [
    'YOLOXPoseRLEHead',
    'OneStageOutputs',
    'RESIDUAL_UNITS',
    'KEYPOINT_SCORES',
    'KEYPOINT_REDUCTIONS',
]

#: Units of the residual: the instance's box size, or the prior's stride (grid cells).
RESIDUAL_UNITS = ('instance', 'stride')
#: Keypoint scores of the predictions.
KEYPOINT_SCORES = ('visibility', 'sigma', 'product')
#: How an instance's keypoint terms are reduced: summed, or their weighted mean.
KEYPOINT_REDUCTIONS = ('sum', 'mean')


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
class YOLOXPoseRLEHead(RLEPredictiveMixin, YOLOXPoseHead):
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
        for name, value, choices in (
            ('residual_unit', residual_unit, RESIDUAL_UNITS),
            ('keypoint_score', keypoint_score, KEYPOINT_SCORES),
            ('keypoint_reduction', keypoint_reduction, KEYPOINT_REDUCTIONS),
        ):
            if value not in choices:
                raise ValueError(
                    f'YOLOXPoseRLEHead: {name} must be one of {choices}, got {value!r}'
                )
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
        with torch.random.fork_rng(devices=[]):  # the flow's draws leave the stream as it was
            self.loss_rle = MODELS.build(loss_rle)
        self.loss_rle_weight = loss_rle_weight
        self.keypoint_detach = keypoint_detach
        self.keypoint_reduction = keypoint_reduction
        self.predictive_model = RLEPredictive.of(self.loss_rle)
        self.residual_unit = residual_unit
        self.keypoint_score = keypoint_score
        self.sigma_calibration = SigmaCalibration(num_keypoints, 2)
        self.register_buffer('joint_weights', self._joint_weights(metainfo, num_keypoints))
        self._pending: Optional[dict] = None  # filled during loss() only

    @staticmethod
    def _joint_weights(metainfo: Optional[str], num_keypoints: int) -> Tensor:
        """``λ`` ``(K,)``: the metainfo file's ``joint_weights``, or ones."""
        if metainfo is None:
            return torch.ones(num_keypoints)
        weights = parse_pose_metainfo(dict(from_file=metainfo))['dataset_keypoint_weights']
        if len(weights) != num_keypoints:
            raise ValueError(
                f'YOLOXPoseRLEHead: {metainfo} has {len(weights)} joint_weights but '
                f'num_keypoints={num_keypoints}'
            )
        return torch.as_tensor(np.asarray(weights), dtype=torch.float32)

    @property
    def inference_modes(self) -> Tuple[str, ...]:
        """The inference modes of :meth:`predict`: one view (``'single'``)."""
        return ('single',)

    def forward(self, feats: Features) -> Tuple[List[Tensor], ...]:
        """MMPose's five outputs per level (classification, objectness, box, keypoint
        offsets, visibility), so that MMPose's loss runs unchanged; the σ logits of the
        same pass are kept while :meth:`loss` runs. :meth:`forward_with_sigma` returns all six."""
        outputs = self.forward_with_sigma(feats)
        if self._pending is not None:
            self._pending['maps'] = outputs
        return outputs[:5]

    def forward_with_sigma(self, feats: Features) -> Tuple[List[Tensor], ...]:
        """The module's six outputs per level, σ logits ``(B, 2K, H, W)`` last."""
        assert isinstance(feats, (tuple, list))
        return self.head_module(feats)

    def _get_targets(self, priors: Tensor, *args, **kwargs) -> tuple:
        """MMPose's target assignment, kept (with the priors) for the RLE term."""
        targets = super()._get_targets(priors, *args, **kwargs)
        if self._pending is not None:
            self._pending['targets'] = targets
        return targets

    def loss(
        self, feats: Tuple[Tensor], batch_data_samples: OptSampleList, train_cfg: ConfigType = {}
    ) -> dict:
        """MMPose's losses, plus ``loss_rle`` and the log ``sigma_mean`` (mean ``σ̂`` of
        the visible keypoints of positive priors) on the same forward pass and assignment.
        """
        self._pending = {}
        try:
            losses = super().loss(feats, batch_data_samples, train_cfg)
            maps, targets = self._pending['maps'], self._pending['targets']
        finally:
            self._pending = None
        losses.update(self.rle_loss(maps[3], maps[5], targets))
        return losses

    def positive_outputs(
        self, offset_maps: List[Tensor], sigma_maps: List[Tensor], targets: tuple
    ) -> Tuple[Tensor, Tensor]:
        """Keypoints ``μ̂`` ``(P, K, 2)`` (input pixels) and σ logits ``(P, K, 2)`` of the
        ``P`` positive priors of MMPose's assignment ``targets``."""
        featmap_sizes = [m.shape[2:] for m in offset_maps]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes,
                dtype=offset_maps[0].dtype,
                device=offset_maps[0].device,
                with_stride=True,
            )
        )
        num_k = self.num_keypoints
        keypoints = self.decode_kpt_reg(
            self._flatten_predictions(offset_maps), priors[..., :2], priors[..., -1]
        )
        pos_masks = targets[0]
        keypoints = keypoints.reshape(-1, num_k, 2)[pos_masks]
        logits = self._flatten_predictions(sigma_maps).reshape(-1, num_k, 2)[pos_masks]
        return keypoints, logits

    def instance_frame(self, bboxes: Tensor, strides: Tensor) -> Tuple[Tensor, Tensor]:
        """Centre ``c`` ``(P, 2)`` and size ``s`` ``(P,)`` of the instances' frame from
        their ``(P, 4)`` xyxy boxes and the ``(P,)`` strides of their priors."""
        centre = (bboxes[:, :2] + bboxes[:, 2:]) * 0.5
        if self.residual_unit == 'stride':
            return centre, strides
        size = (bboxes[:, 2:] - bboxes[:, :2]).clamp_min(1.0).prod(-1).sqrt()
        return centre, size

    def rle_loss(self, offset_maps: List[Tensor], sigma_maps: List[Tensor], targets: tuple) -> dict:
        """``loss_rle`` and ``sigma_mean`` on the positive priors (module docstring)."""
        zero = sum(m.sum() for m in sigma_maps) * 0.0  # keeps the σ branch in the graph
        pos_masks = targets[0]
        if not torch.is_tensor(pos_masks) or not pos_masks.any():
            return dict(loss_rle=zero, sigma_mean=zero.detach())
        keypoints, logits = self.positive_outputs(offset_maps, sigma_maps, targets)
        if self.keypoint_detach:
            keypoints = keypoints.detach()
        bbox_targets, kpt_targets, vis_targets, pos_priors = (
            targets[4],
            targets[6],
            targets[8],
            targets[11],
        )
        centre, size = self.instance_frame(bbox_targets, pos_priors[:, -1])
        scale = size[:, None, None]
        pred = (keypoints - centre[:, None]) / scale
        label = (kpt_targets.to(pred) - centre[:, None]) / scale
        weights = vis_targets.to(pred) * self.joint_weights
        if self.keypoint_reduction == 'mean':
            weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-8)
        loss = self.loss_rle(pred, logits, label, weights.unsqueeze(-1))
        with torch.no_grad():
            visible = weights > 0
            sigma_mean = (logits.sigmoid().mean(-1) * visible).sum() / visible.sum().clamp_min(1)
        return dict(loss_rle=self.loss_rle_weight * loss + zero, sigma_mean=sigma_mean)

    def select(
        self, scores: Tensor, bboxes: Tensor, test_cfg: ConfigType
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """MMPose's selection of one image's priors: best class, ``score_thr``, ``nms_pre``
        and NMS at ``nms_thr`` (none at 1, MMPose's default).

        Args:
            scores (Tensor): ``(N, C)`` class × objectness scores.
            bboxes (Tensor): ``(N, 4)`` decoded boxes.
            test_cfg (dict): ``score_thr`` (0.01), ``nms_pre`` (100000), ``nms_thr`` (1).

        Returns:
            tuple[Tensor, Tensor, Tensor]: indices of the kept priors ``(n,)``, their
            scores and labels.
        """
        best, labels = scores.max(1, keepdim=True)
        best, _, keep, results = filter_scores_and_topk(
            best,
            test_cfg.get('score_thr', 0.01),
            test_cfg.get('nms_pre', 100000),
            results=dict(labels=labels[:, 0]),
        )
        labels = results['labels']
        nms_thr = test_cfg.get('nms_thr', 1.0)
        if keep.numel() > 0 and nms_thr < 1.0:
            kept = nms_torch(bboxes[keep], best, nms_thr)
            keep, best, labels = keep[kept], best[kept], labels[kept]
        return keep, best, labels

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

    def clamp_boxes(self, bboxes: Tensor, input_size: Sequence[int]) -> Tensor:
        """``(..., 4)`` xyxy boxes clamped to the ``(w, h)`` input, as MMPose's predictions."""
        low = bboxes.new_zeros(4)
        high = bboxes.new_tensor([input_size[0], input_size[1]] * 2)
        return torch.minimum(torch.maximum(bboxes, low), high)

    def keypoint_sigmas(
        self, bboxes: Tensor, keypoints: Tensor, sigma: Tensor, strides: Tensor
    ) -> Tuple[Tensor, Tensor]:
        """Point prediction and calibrated predictive RMS error, both ``(..., K, 2)`` in
        input pixels, of instances with clamped boxes ``(..., 4)``, keypoints ``μ̂``
        ``(..., K, 2)``, ``σ̂`` ``(..., K, 2)`` and prior strides ``(...)`` (module
        docstring): ``c + s f_φ(u)`` (``μ̂`` itself outside ``'basic'``) and
        ``s · cal(RMS(u))``, with ``u = (μ̂ − c) / s``."""
        lead = bboxes.shape[:-1]
        centre, size = self.instance_frame(bboxes.reshape(-1, 4), strides.expand(lead).reshape(-1))
        centre, scale = centre.reshape(*lead, 1, 2), size.reshape(*lead, 1, 1)
        frame = (keypoints - centre) / scale
        coords, rms = self.predictive(frame, sigma)
        return keypoints + (coords - frame) * scale, self.sigma_calibration(rms) * scale

    def keypoint_scores(self, visibility: Tensor, sigma: Tensor) -> Tensor:
        """``(..., K)`` keypoint scores of the ``keypoint_score`` choice from the visibility
        ``(..., K)`` and ``σ̂`` ``(..., K, 2)``: the visibility, ``1 − mean σ̂`` or their
        product."""
        if self.keypoint_score == 'visibility':
            return visibility
        confidence = 1 - sigma.mean(-1)
        return confidence if self.keypoint_score == 'sigma' else visibility * confidence

    def instances(
        self,
        metainfo: dict,
        scores: Tensor,
        labels: Tensor,
        bboxes: Tensor,
        keypoints: Tensor,
        visibility: Tensor,
        sigma: Tensor,
        strides: Tensor,
    ) -> InstanceData:
        """The kept instances of one image (shapes ``(n,)``, ``(n,)``, ``(n, 4)``,
        ``(n, K, 2)``, ``(n, K)``, ``(n, K, 2)``, ``(n,)``) as MMPose's ``InstanceData``
        with the σ fields (module docstring), in numpy."""
        input_size = metainfo['input_size']
        bboxes = self.clamp_boxes(bboxes, input_size)
        keypoints, sigmas = self.keypoint_sigmas(bboxes, keypoints, sigma, strides)
        _, sizes = self.instance_frame(bboxes, strides)
        score = self.keypoint_scores(visibility, sigma)
        result = InstanceData(
            scores=scores,
            labels=labels,
            bboxes=bboxes,
            bbox_scores=scores,
            keypoints=keypoints,
            keypoint_scores=score,
            keypoints_visible=visibility,
            keypoint_sigmas=sigmas,
            instance_sizes=sizes,
        ).numpy()
        if 'input_scale' in metainfo:
            result.keypoint_sigmas_image = input_to_image_sigmas(
                result.keypoint_sigmas, np.asarray(input_size), metainfo['input_scale']
            ).astype(np.float32)
        return result
