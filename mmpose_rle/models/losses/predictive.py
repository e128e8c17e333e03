r"""The predictive RMS error of the ``'basic'`` design: ``Q(μ̂, σ̂)`` pushed through the flow.

In the basic design the coordinates are ``x = f_φ(z)`` with ``z ~ Q((z − μ̂)/σ̂)/σ̂`` and
the prediction is ``f_φ(μ̂)``. The RMS error of coordinate ``c``,
``sqrt(E[(f_φ(z)_c − f_φ(μ̂)_c)²])``, is estimated with the unscented transform (Julier &
Uhlmann, 1997): ``2D`` sigma points ``z_j± = μ̂ ± √D · t_j e_j`` (``t_j`` the standard
deviation of ``Q`` along ``j``) with weights ``1/(2D)``::

    rms_c² = (1 / 2D) Σ_{j, ±} (f_φ(z_j±)_c − f_φ(μ̂)_c)²

It is exact when ``f_φ`` is affine (then ``rms_c² = Σ_j J_cj² t_j²``), needs ``2D + 1``
evaluations of the flow and no gradients, so it runs in ``predict`` and in an ONNX graph.

Example:
    >>> from mmpose_rle.models.flows import RealNVP
    >>> coords, rms = unscented_push(RealNVP(), torch.full((3, 2), 0.5), torch.full((3, 2), 0.1))
    >>> rms.shape
    torch.Size([3, 2])
"""

import math
from typing import Tuple

import torch
from torch import Tensor, nn

__all__ = ['unscented_push']


def unscented_push(flow: nn.Module, mu: Tensor, std: Tensor) -> Tuple[Tensor, Tensor]:
    """``f_φ(μ̂)`` and the RMS of ``f_φ(z) − f_φ(μ̂)`` (module docstring).

    Args:
        flow (nn.Module): The flow; ``flow(z)[0]`` is ``f_φ(z)``.
        mu (Tensor): ``μ̂``, shape ``(M, D)``.
        std (Tensor): Standard deviation of ``z`` per coordinate, ``(M, D)``.

    Returns:
        tuple[Tensor, Tensor]: ``f_φ(μ̂)`` and the RMS, both ``(M, D)``.
    """
    m, d = mu.shape
    eye = torch.eye(d, dtype=mu.dtype, device=mu.device)
    offsets = math.sqrt(d) * std[:, None, :] * eye[None]  # (M, D, D): row j moves along j
    points = torch.cat([mu[:, None], mu[:, None] + offsets, mu[:, None] - offsets], dim=1)
    mapped = flow(points.reshape(-1, d))[0].reshape(m, 2 * d + 1, d)
    centre = mapped[:, 0]
    rms = ((mapped[:, 1:] - centre[:, None]) ** 2).mean(dim=1).sqrt()
    return centre, rms
