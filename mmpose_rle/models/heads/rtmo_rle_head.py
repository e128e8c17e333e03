r"""RTMO with a σ branch and the RLE term on its regression branch.

MMPose's ``RTMOHead`` (a ``YOLOXPoseHead`` subclass) predicts keypoints with its dynamic
coordinate classifier (DCC) and trains a regression branch beside it, whose offsets it uses
in training only (:mod:`~mmpose_rle.models.heads.rtmo_regression_head`). Measured on the
procedural crowds, the two estimators' errors rank the same keypoints high and low
(docs/one_stage.md, "RTMO"), so a σ learned for the regression branch can stand beside the
DCC's predictions. :class:`RTMORLEHead` keeps MMPose's layers, losses and predictions and
adds:

* a ``1×1`` σ convolution per level on RTMO's pose vectors (the features its DCC reads),
  ``σ̂ = sigmoid(ℓ)`` per keypoint and coordinate;
* the RLE term on the regression branch's keypoints at the positive priors of MMPose's
  assignment, in the instance's frame, as
  :class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead` (units, weights and reduction in
  :mod:`~mmpose_rle.models.heads.one_stage_rle_mixin`); the labels stay the ground truth
  after RTMO's switch to the DCC's predictions as the regression branch's OKS targets;
* in the predictions: the DCC's keypoints (MMPose's), and ``keypoint_sigmas``,
  ``keypoint_sigmas_image`` and ``instance_sizes`` of the same instances, from the σ̂ of
  their priors: ``s · cal(σ̂ · r)`` with ``r`` the fitted model's RMS of the normalised
  residual.

The basic design is refused: its flow moves the regression branch's prediction, which RTMO
does not report, so its σ would be of another point than the one predicted.
"""

from typing import List, Optional, Tuple

import torch
from mmpose.models.heads.hybrid_heads.rtmo_head import RTMOHead
from mmpose.structures.bbox import bbox_xyxy2cs
from mmpose.utils.typing import ConfigType, Features, OptSampleList, Predictions
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..utils.prior_selection import select_priors
from ..utils.sigma_init import checked_sigma_init, sigma_init_bias
from .one_stage_rle_mixin import OneStageRLEMixin
from .rtmo_priors import RTMOPriorsMixin
from .yoloxpose_rle_module import PointwiseConv

__all__ = ['RTMORLEHead']


@MODELS.register_module()
class RTMORLEHead(OneStageRLEMixin, RTMOPriorsMixin, RTMOHead):
    """RTMO with a σ branch and the RLE term (module docstring).

    Args:
        num_keypoints (int): ``K``.
        head_module_cfg (dict): MMPose's ``RTMOHeadModule`` arguments.
        loss_rle (dict): The RLE loss (residual or reparameterised design), built in
            ``mmpose_rle``'s registry. Default: ``mmpose_rle.RLELoss`` with target weights.
        loss_rle_weight (float): Weight of the RLE term. Default: 1.
        keypoint_reduction (str): ``'sum'`` or ``'mean'`` over an instance's keypoints.
        residual_unit (str): ``'instance'`` or ``'stride'``.
        keypoint_score (str): ``'visibility'``, ``'sigma'`` or ``'product'``.
        metainfo (str, optional): A data set's metainfo file, for its ``joint_weights``.
        sigma_init (float, optional): Initial ``σ̂`` in ``(0, 1)`` through the σ biases.
        sigma_detach (bool): The σ convolutions read the pose vectors through a
            stop-gradient. Default: False.
        keypoint_detach (bool): The RLE term reads the keypoints through a stop-gradient.
            Default: False.
        **kwargs: ``RTMOHead``'s other arguments (DCC, assigner, prior generator, losses).

    Raises:
        ValueError: For the basic design, a ``sigma_init`` outside ``(0, 1)``, or a choice
            the mixin refuses.
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
        checked_sigma_init('RTMORLEHead', sigma_init)
        super().__init__(num_keypoints, head_module_cfg, **kwargs)
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
        if self.predictive_model.design == 'basic':
            raise ValueError(
                "RTMORLEHead: the basic design moves the regression branch's prediction, "
                'which RTMO does not report; use the residual or reparameterised design'
            )
        module = self.head_module
        channels = (
            module.pose_vec_channels
            if module.pose_vec_channels > 0
            else module.num_groups * module.channels_per_group
        )
        with torch.random.fork_rng(devices=[]):  # MMPose's weights are drawn as without it
            self.out_kpt_sigma = nn.ModuleList(
                PointwiseConv(channels, 2 * num_keypoints) for _ in self.featmap_strides
            )
        self.sigma_init = sigma_init
        self.sigma_detach = sigma_detach

    def init_weights(self) -> None:
        """MMPose's initialisation, then the σ biases from ``sigma_init``."""
        super().init_weights()
        if self.sigma_init is not None:
            with torch.no_grad():
                for conv in self.out_kpt_sigma:
                    conv.bias.fill_(sigma_init_bias(self.sigma_init))

    def sigma_maps(self, pose_maps: List[Tensor]) -> List[Tensor]:
        """σ logits ``(B, 2K, H, W)`` per level from RTMO's pose vectors ``(B, C, H, W)``."""
        return [
            conv(x.detach() if self.sigma_detach else x)
            for conv, x in zip(self.out_kpt_sigma, pose_maps)
        ]

    def forward(self, feats: Features) -> Tuple[List[Tensor], ...]:
        """MMPose's five outputs per level, so that MMPose's loss runs unchanged; while
        :meth:`loss` runs, the keypoint offsets and σ logits of the same pass are kept."""
        outputs = super().forward(feats)
        if self._pending is not None:
            self._pending.update(offsets=outputs[2], sigmas=self.sigma_maps(outputs[4]))
        return outputs

    def predict(
        self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}
    ) -> Predictions:
        """One ``InstanceData`` per image: MMPose's instances and DCC keypoints, with the σ
        fields of the mixin (input pixels; the pose estimator maps them to the image)."""
        cls_maps, bbox_maps, _, vis_maps, pose_maps = self.forward(feats)
        priors, scores, bboxes = self.decoded_priors(cls_maps, bbox_maps)
        flat = self._flatten_predictions
        visibility = flat(vis_maps).sigmoid()
        pose_vecs = flat(pose_maps)
        sigma = flat(self.sigma_maps(pose_maps)).sigmoid()
        sigma = sigma.reshape(*sigma.shape[:2], self.num_keypoints, 2)
        results = []
        for i, sample in enumerate(batch_data_samples):
            keep, best, labels = select_priors(scores[i], bboxes[i], test_cfg)
            boxes = bboxes[i, keep]
            if len(keep):
                centre_scale = torch.cat(bbox_xyxy2cs(boxes, self.bbox_padding), dim=1)
                keypoints = self.dcc.forward_test(
                    pose_vecs[i, keep], centre_scale, priors[keep, :2]
                )
            else:
                keypoints = boxes.new_zeros((0, self.num_keypoints, 2))
            results.append(
                self.instances(
                    sample.metainfo,
                    best,
                    labels,
                    boxes,
                    keypoints,
                    visibility[i, keep],
                    sigma[i, keep],
                    priors[keep, -1],
                )
            )
        return results
