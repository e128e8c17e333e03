r"""The RLE term, σ and predicted instances shared by the one-stage RLE heads.

:class:`OneStageRLEMixin` is what :class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead` and
:class:`~mmpose_rle.models.heads.RTMORLEHead` add to MMPose's ``YOLOXPoseHead`` and
``RTMOHead`` (both assign targets with ``YOLOXPoseHead``'s SimOTA and regress keypoint offsets
per prior). The units, the loss and the predicted fields are those of
:mod:`mmpose_rle.models.heads.yoloxpose_rle_head`'s docstring:

* the RLE term on the positive priors, in the instance's frame ``u = (μ̂ − c) / s``
  (:meth:`~OneStageRLEMixin.instance_frame`), weighted by visibility times ``joint_weights``
  and reduced per instance by ``'sum'`` or ``'mean'`` (:meth:`~OneStageRLEMixin.rle_loss`);
* per kept instance ``keypoint_sigmas`` ``s · cal(RMS(u))`` in input pixels,
  ``keypoint_sigmas_image``, ``instance_sizes`` and the keypoint scores of the
  ``keypoint_score`` choice (:meth:`~OneStageRLEMixin.instances`).

A head using it calls :meth:`~OneStageRLEMixin.init_rle` after MMPose's ``__init__``, and its
``forward`` stores the keypoint offset maps and σ logit maps in ``self._pending`` (as
``'offsets'`` and ``'sigmas'``) when that is a dict.
"""

from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.utils.typing import ConfigType, OptSampleList
from torch import Tensor

from mmpose_rle.registry import MODELS

from ..losses.rle_predictive import RLEPredictive
from ..utils.image_sigmas import input_to_image_sigmas
from ..utils.sigma_calibration import SigmaCalibration
from .predictive_mixin import RLEPredictiveMixin

__all__ = ['OneStageRLEMixin', 'RESIDUAL_UNITS', 'KEYPOINT_SCORES', 'KEYPOINT_REDUCTIONS']

#: Units of the residual: the instance's box size, or the prior's stride (grid cells).
RESIDUAL_UNITS = ('instance', 'stride')
#: Keypoint scores of the predictions.
KEYPOINT_SCORES = ('visibility', 'sigma', 'product')
#: How an instance's keypoint terms are reduced: summed, or their weighted mean.
KEYPOINT_REDUCTIONS = ('sum', 'mean')


class OneStageRLEMixin(RLEPredictiveMixin):
    """The RLE term and σ of a one-stage head built on MMPose's ``YOLOXPoseHead`` (module
    docstring)."""

    def init_rle(
        self,
        num_keypoints: int,
        loss_rle: ConfigType,
        loss_rle_weight: float,
        keypoint_reduction: str,
        residual_unit: str,
        keypoint_score: str,
        metainfo: Optional[str],
        keypoint_detach: bool,
    ) -> None:
        """Check the choices and build the RLE loss (its flow drawn on a forked random
        state, so that MMPose's weights are drawn as without it), the σ map and the joint
        weights; arguments as :class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead`'s.

        Raises:
            ValueError: A choice outside :data:`RESIDUAL_UNITS`, :data:`KEYPOINT_SCORES` or
                :data:`KEYPOINT_REDUCTIONS`, or ``joint_weights`` of another length than
                ``num_keypoints``.
        """
        owner = type(self).__name__
        for name, value, choices in (
            ('residual_unit', residual_unit, RESIDUAL_UNITS),
            ('keypoint_score', keypoint_score, KEYPOINT_SCORES),
            ('keypoint_reduction', keypoint_reduction, KEYPOINT_REDUCTIONS),
        ):
            if value not in choices:
                raise ValueError(f'{owner}: {name} must be one of {choices}, got {value!r}')
        with torch.random.fork_rng(devices=[]):  # the flow's draws leave the stream as it was
            self.loss_rle = MODELS.build(loss_rle)
        self.loss_rle_weight = loss_rle_weight
        self.keypoint_detach = keypoint_detach
        self.keypoint_reduction = keypoint_reduction
        self.predictive_model = RLEPredictive.of(self.loss_rle)
        self.residual_unit = residual_unit
        self.keypoint_score = keypoint_score
        self.sigma_calibration = SigmaCalibration(num_keypoints, 2)
        self.register_buffer('joint_weights', self._joint_weights(owner, metainfo, num_keypoints))
        self._pending: Optional[dict] = None  # filled during loss() only

    @staticmethod
    def _joint_weights(owner: str, metainfo: Optional[str], num_keypoints: int) -> Tensor:
        """``λ`` ``(K,)``: the metainfo file's ``joint_weights``, or ones (errors name
        ``owner``)."""
        if metainfo is None:
            return torch.ones(num_keypoints)
        weights = parse_pose_metainfo(dict(from_file=metainfo))['dataset_keypoint_weights']
        if len(weights) != num_keypoints:
            raise ValueError(
                f'{owner}: {metainfo} has {len(weights)} joint_weights but '
                f'num_keypoints={num_keypoints}'
            )
        return torch.as_tensor(np.asarray(weights), dtype=torch.float32)

    @property
    def inference_modes(self) -> Tuple[str, ...]:
        """The inference modes of :meth:`predict`: one view (``'single'``)."""
        return ('single',)

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
        the visible keypoints of positive priors) on the same forward pass and assignment:
        the head's ``forward`` keeps its keypoint offset and σ logit maps in ``_pending``
        (``'offsets'``, ``'sigmas'``) while the loss runs, :meth:`_get_targets` the
        assignment.
        """
        self._pending = {}
        try:
            losses = super().loss(feats, batch_data_samples, train_cfg)
            pending = self._pending
        finally:
            self._pending = None
        losses.update(self.rle_loss(pending['offsets'], pending['sigmas'], pending['targets']))
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
