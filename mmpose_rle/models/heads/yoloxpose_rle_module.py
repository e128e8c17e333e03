r"""The layers of the one-stage RLE head: MMPose's YOLOX-Pose head module plus a σ branch.

:class:`YOLOXPoseRLEHeadModule` is MMPose's ``YOLOXPoseHeadModule`` (classification, box,
objectness, keypoint offsets and visibility per feature level) with one more ``1×1``
convolution per level on the pose features: the σ logits ``ℓ`` of each keypoint and
coordinate, ``σ̂ = sigmoid(ℓ)``. The σ branch reads the same features as the keypoint
offsets, so it adds ``feat_channels · 2K`` weights per level and nothing else. With
``sigma_detach`` it reads them through a stop-gradient: σ is learned from the features without
pulling on them, and the RLE term reaches the shared layers through the keypoint offsets only.
"""

from typing import List, Optional, Tuple

import torch
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHeadModule
from torch import Tensor, nn
from torch.nn import functional as F

from ..utils.sigma_init import checked_sigma_init, sigma_init_bias

__all__ = ['YOLOXPoseRLEHeadModule', 'PointwiseConv']


class PointwiseConv(nn.Module):
    """A ``1×1`` convolution ``(B, C, H, W) → (B, O, H, W)`` with ``nn.Conv2d``'s parameters
    (``weight`` ``(O, C, 1, 1)``, ``bias`` ``(O,)``) and default initialisation, that is not an
    ``nn.Conv2d``: a model-level ``init_cfg`` for ``Conv2d`` layers (YOLOX-Pose configs
    re-initialise every convolution this way) draws nothing for it, so the random stream of
    every later initialisation stays MMPose's.

    Args:
        in_channels (int): ``C``.
        out_channels (int): ``O``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        reference = nn.Conv2d(in_channels, out_channels, 1)
        self.weight = nn.Parameter(reference.weight.detach().clone())
        self.bias = nn.Parameter(reference.bias.detach().clone())

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias)


class YOLOXPoseRLEHeadModule(YOLOXPoseHeadModule):
    """``YOLOXPoseHeadModule`` with a per-keypoint σ branch (module docstring).

    Args:
        sigma_init (float, optional): Initial ``σ̂`` in ``(0, 1)``: the σ biases are set to
            ``logit(sigma_init)`` after the initialisation. None keeps the initialiser's
            biases. Default: None.
        sigma_detach (bool): Read the pose features through a stop-gradient in the σ
            branch (module docstring). Default: False.
        **kwargs: ``YOLOXPoseHeadModule``'s arguments.
    """

    def __init__(
        self,
        *args,
        sigma_init: Optional[float] = None,
        sigma_detach: bool = False,
        **kwargs,
    ) -> None:
        self.sigma_init = checked_sigma_init('YOLOXPoseRLEHeadModule', sigma_init)
        self.sigma_detach = sigma_detach
        super().__init__(*args, **kwargs)

    def _init_pose_branch(self) -> None:
        """MMPose's pose branch, then the σ convolutions ``out_kpt_sigma`` (``2K`` channels,
        :class:`PointwiseConv`), drawn on a forked random state."""
        super()._init_pose_branch()
        with torch.random.fork_rng(devices=[]):
            self.out_kpt_sigma = nn.ModuleList(
                PointwiseConv(self.feat_channels, self.num_keypoints * 2)
                for _ in self.featmap_strides
            )

    def init_weights(self) -> None:
        """MMPose's initialisation, then the σ biases from ``sigma_init``."""
        super().init_weights()
        if self.sigma_init is not None:
            bias = sigma_init_bias(self.sigma_init)
            with torch.no_grad():
                for conv in self.out_kpt_sigma:
                    conv.bias.fill_(bias)

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[List[Tensor], ...]:
        """The outputs of MMPose's module, then the σ logits.

        Args:
            x (tuple[Tensor]): One ``(B, C, H_l, W_l)`` feature map per level.

        Returns:
            tuple[list[Tensor]]: Per level: classification ``(B, num_classes, H, W)``,
            objectness ``(B, 1, H, W)``, box ``(B, 4, H, W)``, keypoint offsets
            ``(B, 2K, H, W)``, visibility logits ``(B, K, H, W)`` and σ logits
            ``(B, 2K, H, W)`` (``x`` then ``y`` of each keypoint, as the offsets).
        """
        outputs: Tuple[List[Tensor], ...] = tuple([] for _ in range(6))
        for level, feat in enumerate(x):
            cls_feat = self.conv_cls[level](feat)
            reg_feat = self.conv_reg[level](feat)
            pose_feat = self.conv_pose[level](feat)
            maps = (
                self.out_cls[level](cls_feat),
                self.out_obj[level](reg_feat),
                self.out_bbox[level](reg_feat),
                self.out_kpt[level](pose_feat),
                self.out_kpt_vis[level](pose_feat),
                self.out_kpt_sigma[level](pose_feat.detach() if self.sigma_detach else pose_feat),
            )
            for out, value in zip(outputs, maps):
                out.append(value)
        return outputs
