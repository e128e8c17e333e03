r"""The calibration of a head's σ, kept in the head (and so in its checkpoints).

A monotone map per keypoint ``k`` and coordinate ``c`` from the predicted RMS error ``σ``
(normalised units, as the head predicts it) to the calibrated one::

    σ'_kc = exp(log_scale_kc) · σ_kc ^ power_kc

``power = 1`` is a temperature (a scale per keypoint and axis); ``power ≠ 1`` also bends
the map, which corrects a σ that spreads too much or too little across instances. Both
are buffers: the identity (``0`` and ``1``) until :mod:`mmpose_rle.calibration` fits them,
and a checkpoint without them loads as the identity.

Example:
    >>> cal = SigmaCalibration(num_joints=2, dim=2)
    >>> sigma = torch.full((1, 2, 2), 0.05)
    >>> torch.equal(cal(sigma), sigma), cal.is_identity
    (True, True)
"""

from typing import Optional

import torch
from torch import Tensor, nn

__all__ = ['SigmaCalibration']


class SigmaCalibration(nn.Module):
    """``σ' = exp(log_scale) · σ^power`` per keypoint and coordinate (module docstring).

    Args:
        num_joints (int): ``K``.
        dim (int): ``D``, coordinates per keypoint.
    """

    def __init__(self, num_joints: int, dim: int = 2) -> None:
        super().__init__()
        self.register_buffer('log_scale', torch.zeros(num_joints, dim))
        self.register_buffer('power', torch.ones(num_joints, dim))

    @property
    def is_identity(self) -> bool:
        """Whether the map leaves σ unchanged (no calibration fitted)."""
        return bool((self.log_scale == 0).all() and (self.power == 1).all())

    def forward(self, sigma: Tensor) -> Tensor:
        """Calibrated σ of ``sigma`` ``(..., K, D)`` (any leading shape)."""
        if self.is_identity:
            return sigma
        tiny = torch.finfo(sigma.dtype).tiny
        return torch.exp(
            self.log_scale.to(sigma) + self.power.to(sigma) * torch.log(sigma.clamp_min(tiny))
        )

    @torch.no_grad()
    def set_(self, log_scale: Tensor, power: Optional[Tensor] = None) -> None:
        """Set the map (``power`` 1 when None: a temperature)."""
        self.log_scale.copy_(torch.as_tensor(log_scale, dtype=self.log_scale.dtype))
        self.power.copy_(
            torch.ones_like(self.power)
            if power is None
            else torch.as_tensor(power, dtype=self.power.dtype)
        )

    def fill_missing(self, state_dict: dict, prefix: str) -> None:
        """Put the identity into ``state_dict`` where a checkpoint has no calibration."""
        for name, value in (('log_scale', self.log_scale), ('power', self.power)):
            key = prefix + name
            if key not in state_dict:
                state_dict[key] = (
                    torch.zeros_like(value) if name == 'log_scale' else torch.ones_like(value)
                )
