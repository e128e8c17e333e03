r"""A running second moment of the normalised residual: the RMS of ``x̄`` measured in training.

RLE reports the RMS error of a keypoint coordinate as ``σ̂_c · s_c`` with
``s_c² = E[x̄_c²]`` and ``x̄ = (μ_g − μ̂) / σ̂``. By default ``s`` is read off the fitted flow
(:meth:`~mmpose_rle.models.losses.RLEPredictive.residual_rms`). That estimate is only as
good as the flow's fit: a RealNVP has Gaussian tails, so on heavy-tailed residuals it can
miss variance in the tail, and its scale depends on how far training has taken the flow
from its initial one. :class:`ResidualMoment` measures
``s`` directly from the residuals the loss sees: an exponential moving average over training
steps ``t`` of each batch's weighted mean square, bias-corrected as in Adam::

    m_t = β m_{t−1} + (1 − β) Σ_{n,k} w_nk x̄_nk,c² / Σ_{n,k} w_nk,    W_t = β W_{t−1} + (1 − β)
    s_c = sqrt(m_t / W_t)

with ``β`` the momentum and ``w`` the keypoint weights (visible keypoints). Steps whose
batch has no weighted keypoint leave both unchanged. :meth:`ResidualMoment.add` averages any
other per-coordinate statistic the same way (the loss's virial, for ``'reparam'``). ``s`` is
None until the first update (the caller falls back to the flow). Both sums are buffers, so
they are saved in checkpoints and an exact resume continues them; in distributed training
each rank averages its own batches.

Shapes: ``pred``, ``sigma``, ``target`` ``(N, K, D)``; ``weight`` ``(N, K)``, ``(N, K, 1)``
or ``(N, K, D)`` or None; ``s`` ``(D,)``.

Example:
    >>> moment = ResidualMoment(dim=2, momentum=0.5)
    >>> pred, target = torch.zeros(4, 1, 2), torch.full((4, 1, 2), 0.3)
    >>> moment.update(pred, torch.full((4, 1, 2), 0.1), target)
    >>> [round(v, 6) for v in moment.rms().tolist()]
    [3.0, 3.0]
"""

from typing import Optional

import torch
from torch import Tensor, nn

__all__ = ['ResidualMoment']


class ResidualMoment(nn.Module):
    """Bias-corrected EMA of the weighted mean square of ``x̄`` (module docstring).

    Args:
        dim (int): Coordinates ``D``.
        momentum (float): ``β`` in ``[0, 1)``; the average spans about ``1 / (1 − β)`` steps.
            Default: 0.98.
    """

    def __init__(self, dim: int, momentum: float = 0.98) -> None:
        super().__init__()
        if not 0 <= momentum < 1:
            raise ValueError(f'ResidualMoment: momentum must lie in [0, 1), got {momentum!r}')
        self.momentum = momentum
        self.register_buffer('mean_square', torch.zeros(dim, dtype=torch.float64))
        self.register_buffer('weight', torch.zeros((), dtype=torch.float64))

    def extra_repr(self) -> str:
        return f'dim={self.mean_square.numel()}, momentum={self.momentum}'

    @torch.no_grad()
    def update(
        self, pred: Tensor, sigma: Tensor, target: Tensor, weight: Optional[Tensor] = None
    ) -> None:
        """Add one step's residuals.

        Args:
            pred (Tensor): ``μ̂``, ``(N, K, D)``.
            sigma (Tensor): ``σ̂`` (after the sigmoid), ``(N, K, D)``.
            target (Tensor): ``μ_g``, ``(N, K, D)``, finite.
            weight (Tensor, optional): Keypoint weights, ``(N, K)``, ``(N, K, 1)`` or
                ``(N, K, D)``; every keypoint counts when None.
        """
        self.add(((target - pred) / sigma).double() ** 2, weight)

    @torch.no_grad()
    def add(self, values: Tensor, weight: Optional[Tensor] = None) -> None:
        """Add one step's weighted mean of ``values`` ``(N, K, D)`` (the module docstring's
        formula with ``x̄²`` replaced by ``values``); ``weight`` as in :meth:`update`."""
        values = values.double()
        if weight is None:
            weight = torch.ones_like(values)
        elif weight.dim() == 2:
            weight = weight[..., None]
        weight = weight.double().expand_as(values)
        total = weight.sum((0, 1))
        if not bool((total > 0).all()):
            return
        batch = (weight * values).sum((0, 1)) / total
        beta = self.momentum
        self.mean_square.mul_(beta).add_((1 - beta) * batch)
        self.weight.mul_(beta).add_(1 - beta)

    def mean(self) -> Optional[Tensor]:
        """The bias-corrected average ``m_t / W_t`` ``(D,)`` as float32, or None before the
        first update."""
        if float(self.weight) <= 0:
            return None
        return (self.mean_square / self.weight).float()

    def rms(self) -> Optional[Tensor]:
        """``s = sqrt(mean)`` ``(D,)`` as float32, or None before the first update."""
        mean = self.mean()
        return None if mean is None else mean.sqrt()
