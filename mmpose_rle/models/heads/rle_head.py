"""RLE regression head: MMPose's ``RLEHead`` layers in our head family.

The head maps pooled features ``(B, C)`` to ``(B, K, 4)`` with one linear layer: per
keypoint the normalised coordinates ``μ̂ = (x, y)`` in ``[0, 1]`` of the input and the σ
logits. Loss, prediction, flip test and ``keypoint_sigmas`` are
:class:`~mmpose_rle.models.heads.BaseRLEHead`'s.
"""

from typing import Optional, Tuple

import torch
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from .base_rle_head import BaseRLEHead

__all__ = ['RLEHead']


@MODELS.register_module()
class RLEHead(BaseRLEHead):
    """Top-down RLE head (Li et al., ICCV 2021), a drop-in for MMPose's ``RLEHead``.

    It has MMPose's parameters (``fc``: ``C → K·4``, outputs ordered ``(x, y, σx, σy)`` per
    keypoint), initialisation and outputs, and loads MMPose state dicts strictly (the
    pre-1.0 ``loss.*`` layout too); its loss is :class:`mmpose_rle.models.losses.RLELoss`.

    Args:
        in_channels (int): Feature channels ``C`` (after ``GlobalAveragePooling``).
        num_joints (int): Number of keypoints ``K``.
        loss (dict): Loss config. Default: ``mmpose_rle.RLELoss`` with target weights.
        decoder (dict, optional): Codec config, usually ``RegressionLabel``.
        sigma_init (float, optional): Initial ``σ̂`` (:class:`BaseRLEHead`). Default: None.
        init_cfg (dict, optional): Initialisation; MMPose's ``Normal(std=0.01)`` on
            every ``Linear`` by default.
        **score_kwargs: :class:`BaseRLEHead`'s ``keypoint_score`` and ``oks_sigmas``.

    Example:
        >>> head = RLEHead(in_channels=8, num_joints=3)
        >>> head((torch.zeros(2, 8), )).shape
        torch.Size([2, 3, 4])
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        loss: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        sigma_init: Optional[float] = None,
        init_cfg: OptConfigType = None,
        **score_kwargs,
    ) -> None:
        super().__init__(
            num_joints,
            loss=loss,
            decoder=decoder,
            sigma_init=sigma_init,
            init_cfg=init_cfg,
            **score_kwargs,
        )
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, num_joints * 4)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 4)``: coordinates and σ logits, from ``feats[-1]``."""
        x = self.fc(torch.flatten(feats[-1], 1))
        return self.full_precision(x.reshape(-1, self.num_joints, 4))

    def sigma_bias(self) -> Tensor:
        """The σ-logit entries of ``fc.bias``: ``(K, 2)``."""
        return self.fc.bias.view(self.num_joints, 4)[:, 2:]
