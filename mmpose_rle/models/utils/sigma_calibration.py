r"""The calibration of a head's σ, kept in the head (and so in its checkpoints).

A monotone map per keypoint ``k`` and coordinate ``c`` from the predicted RMS error ``σ``
(normalised units, as the head predicts it) to the calibrated one::

    σ'_kc = exp(log_scale_kc) · σ_kc ^ power_kc

``power = 1`` is a temperature (a scale per keypoint and axis); ``power ≠ 1`` also bends
the map, which corrects a σ that spreads too much or too little across instances.

There is one map per **inference mode** (:data:`MODES`), because the flip test averages
two views: it lowers the error more than it lowers σ, so a map fitted on one mode is wrong
for the other.

* ``'single'`` — one view: ``predict_outputs``, ``predict`` without the flip test, the
  ONNX graph; buffers ``log_scale`` and ``power``;
* ``'flip'`` — the flip-test average of ``predict`` (``test_cfg['flip_test']``), mapped
  after averaging; buffers ``flip_log_scale`` and ``flip_power``.

All are buffers: the identity (``0`` and ``1``) until :mod:`mmpose_rle.calibration` fits
them. A checkpoint without them loads as the identity; a checkpoint from before the maps
per mode (``log_scale`` and ``power`` only) was fitted in whatever mode its config's
``test_cfg`` predicted, which the head cannot know, so its map loads into both modes (a
warning says to re-fit).

Example:
    >>> cal = SigmaCalibration(num_joints=2, dim=2)
    >>> sigma = torch.full((1, 2, 2), 0.05)
    >>> cal.set_(torch.full((2, 2), 2.0).log(), mode='flip')
    >>> torch.equal(cal(sigma), sigma), torch.allclose(cal(sigma, mode='flip'), 2 * sigma)
    (True, True)
"""

import warnings
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

__all__ = ['MODES', 'SigmaCalibration']

#: The inference modes, each with its own map: one view, and the flip-test average.
MODES = ('single', 'flip')


class SigmaCalibration(nn.Module):
    """``σ' = exp(log_scale) · σ^power`` per mode, keypoint and coordinate (module docstring).

    Args:
        num_joints (int): ``K``.
        dim (int): ``D``, coordinates per keypoint.
    """

    def __init__(self, num_joints: int, dim: int = 2) -> None:
        super().__init__()
        for mode in MODES:
            scale, power = self.buffer_names(mode)
            self.register_buffer(scale, torch.zeros(num_joints, dim))
            self.register_buffer(power, torch.ones(num_joints, dim))

    @staticmethod
    def buffer_names(mode: str) -> Tuple[str, str]:
        """Names of the ``(log_scale, power)`` buffers of ``mode``."""
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        prefix = '' if mode == 'single' else f'{mode}_'
        return prefix + 'log_scale', prefix + 'power'

    def map(self, mode: str = 'single') -> Tuple[Tensor, Tensor]:
        """``(log_scale, power)``, both ``(K, D)``, of ``mode``."""
        scale, power = self.buffer_names(mode)
        return getattr(self, scale), getattr(self, power)

    def identity_in(self, mode: str = 'single') -> bool:
        """Whether the map of ``mode`` leaves σ unchanged (none fitted)."""
        log_scale, power = self.map(mode)
        return bool((log_scale == 0).all() and (power == 1).all())

    @property
    def is_identity(self) -> bool:
        """Whether every mode's map leaves σ unchanged (no calibration fitted)."""
        return all(self.identity_in(mode) for mode in MODES)

    def forward(self, sigma: Tensor, mode: str = 'single') -> Tensor:
        """Calibrated σ of ``sigma`` ``(..., K, D)`` (any leading shape) in ``mode``."""
        if self.identity_in(mode):
            return sigma
        log_scale, power = self.map(mode)
        tiny = torch.finfo(sigma.dtype).tiny
        return torch.exp(log_scale.to(sigma) + power.to(sigma) * torch.log(sigma.clamp_min(tiny)))

    @torch.no_grad()
    def set_(self, log_scale: Tensor, power: Optional[Tensor] = None, mode: str = 'single') -> None:
        """Set the map of ``mode`` (``power`` 1 when None: a temperature)."""
        scale_buf, power_buf = self.map(mode)
        scale_buf.copy_(torch.as_tensor(log_scale, dtype=scale_buf.dtype))
        power_buf.copy_(
            torch.ones_like(power_buf)
            if power is None
            else torch.as_tensor(power, dtype=power_buf.dtype)
        )

    @torch.no_grad()
    def reset_(self) -> None:
        """Set every mode's map to the identity."""
        for mode in MODES:
            log_scale, _ = self.map(mode)
            self.set_(torch.zeros_like(log_scale), mode=mode)

    def fill_missing(self, state_dict: dict, prefix: str) -> None:
        """Complete a checkpoint's calibration in ``state_dict`` (module docstring): the
        identity where it has none; where it predates the modes, its one map in every mode."""
        single = [prefix + name for name in self.buffer_names('single')]
        others = [prefix + name for mode in MODES[1:] for name in self.buffer_names(mode)]
        if all(key in state_dict for key in single) and not any(k in state_dict for k in others):
            log_scale, power = (state_dict[key] for key in single)
            if (log_scale != 0).any() or (power != 1).any():
                warnings.warn(
                    'the checkpoint holds one σ calibration map, fitted before there was one '
                    'per inference mode: it is used both with and without the flip test; '
                    're-fit it (tools/calibrate_sigma.py) for a map per mode',
                    stacklevel=2,
                )
            for mode in MODES[1:]:
                for name, value in zip(self.buffer_names(mode), (log_scale, power)):
                    state_dict[prefix + name] = value.clone()
            return
        for mode in MODES:
            for name, fill in zip(self.buffer_names(mode), (torch.zeros_like, torch.ones_like)):
                if prefix + name not in state_dict:
                    state_dict[prefix + name] = fill(getattr(self, name))
