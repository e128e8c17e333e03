"""The official RLE head (Li et al., ``rlepose/models/regression_nf.py``) in our family."""

from typing import Optional, Tuple

import torch
from mmpose.utils.typing import ConfigType, OptConfigType
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from .base_rle_head import BaseRLEHead
from .norm_linear import FeatureNormLinear

__all__ = ['OfficialRLEHead']


@MODELS.register_module()
class OfficialRLEHead(BaseRLEHead):
    """The authors' regression head: coordinates from L2-normalised features.

    Two linear layers on the pooled features ``x`` (``(B, C)``)::

        μ̂ = (x W_cᵀ) / ‖x‖₂ + b_c      fc_coord, a FeatureNormLinear:  C → K·2
        ℓ  = x W_σᵀ + b_σ               fc_sigma, a Linear:             C → K·2

    The coordinates are invariant to the feature scale. The official code predicts
    coordinates centred on the crop (``[−0.5, 0.5]``) and starts at the centre (zero
    bias); here they are MMPose's ``[0, 1]``, so after ``init_cfg`` the bias ``b_c`` is set
    to ``coord_init`` = 0.5: the crop's centre again. Checkpoints of the official code load
    through ``tools/convert_official_checkpoint.py``.

    Args:
        in_channels (int): Feature channels ``C``.
        num_joints (int): Number of keypoints ``K``.
        loss (dict): Loss config; use ``formulation='official'`` for the official loss.
        decoder (dict, optional): Codec config, usually ``RegressionLabel``.
        sigma_init (float, optional): Initial ``σ̂`` (:class:`BaseRLEHead`). Default: None.
        coord_init (float): Initial bias of ``fc_coord``. Default: 0.5 (the centre).
        init_cfg (dict, optional): Initialisation; ``Normal(std=0.01)`` on ``Linear``.
        **score_kwargs: :class:`BaseRLEHead`'s ``keypoint_score`` and ``oks_sigmas``.
    """

    def __init__(
        self,
        in_channels: int,
        num_joints: int,
        loss: ConfigType = dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder: OptConfigType = None,
        sigma_init: Optional[float] = None,
        coord_init: float = 0.5,
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
        self.coord_init = coord_init
        self.fc_coord = FeatureNormLinear(in_channels, num_joints * 2)
        self.fc_sigma = nn.Linear(in_channels, num_joints * 2)

    def init_weights(self) -> None:
        """``init_cfg``, ``sigma_init``, then the coordinate bias at ``coord_init``."""
        first_time = not self.is_init
        super().init_weights()
        if first_time:
            with torch.no_grad():
                self.fc_coord.bias.fill_(self.coord_init)

    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Raw outputs ``(B, K, 4)``: coordinates and σ logits, from ``feats[-1]``."""
        x = torch.flatten(feats[-1], 1)
        coords = self.fc_coord(x).reshape(-1, self.num_joints, 2)
        sigma = self.fc_sigma(x).reshape(-1, self.num_joints, 2)
        return self.full_precision(torch.cat([coords, sigma], dim=-1))

    def sigma_bias(self) -> Tensor:
        """``fc_sigma.bias`` as ``(K, 2)``."""
        return self.fc_sigma.bias.view(self.num_joints, 2)
