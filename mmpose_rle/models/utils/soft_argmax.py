r"""Spatial softmax and soft-argmax: the integral readout of a heatmap.

For heatmap logits ``Z`` of shape ``(B, K, H, W)`` and a temperature ``β``::

    log P_k = log_softmax(β Z_k) over the H·W cells      (stable: no log(0), no overflow)
    μ̂_x,k  = Σ_ij P_k,ij · g_x(j),   μ̂_y,k = Σ_ij P_k,ij · g_y(i)

with a grid ``g`` of cell positions in normalised input coordinates (``x / w`` for an input
``w`` pixels wide, as MMPose's ``RegressionLabel``):

* :func:`pixel_grid` — MMPose's pixel-centre convention (pixel ``p`` covers
  ``[p − ½, p + ½]``; the flip test's mirror is ``x' = w − 1 − x``): cell ``j`` of stride
  ``t = w / W`` covers input pixels ``[j t − ½, (j + 1) t − ½]``, so its centre is
  ``(j + ½) t − ½`` pixels, ``g(j) = (j + ½)/W − ½/w``. Mirrored maps then decode to exactly
  mirrored coordinates, ``g(W − 1 − j) = 1 − 1/w − g(j)``.
* :func:`cell_grid` — ``g(j) = (j + o) / W``: ``o = 0.5`` tiles ``[0, 1]`` with the cells
  (half an input pixel off the convention above), ``o = 0`` is MMPose's
  ``IntegralRegressionHead`` grid (heatmap pixel ``j`` ↔ input pixel ``j t``).

Example:
    >>> logits = torch.zeros(1, 1, 4, 4)
    >>> soft_argmax(spatial_log_softmax(logits).exp(), cell_grid(4), cell_grid(4))
    tensor([[[0.5000, 0.5000]]])
"""

import torch
from torch import Tensor

__all__ = ['spatial_log_softmax', 'soft_argmax', 'cell_grid', 'pixel_grid', 'window_around_peak']


def cell_grid(size: int, offset: float = 0.5) -> Tensor:
    """``(size,)`` normalised cell positions ``(j + offset) / size``."""
    return (torch.arange(size, dtype=torch.float32) + offset) / size


def pixel_grid(size: int, input_size: float) -> Tensor:
    """``(size,)`` cell centres ``(j + ½)/size − ½/input_size`` (pixel-centre convention)."""
    return (torch.arange(size, dtype=torch.float32) + 0.5) / size - 0.5 / float(input_size)


def spatial_log_softmax(logits: Tensor, beta: float = 1.0) -> Tensor:
    """``log softmax(β Z)`` over the ``H·W`` cells of each map, shape ``(B, K, H, W)``."""
    b, k, h, w = logits.shape
    return torch.log_softmax(beta * logits.reshape(b, k, h * w), dim=-1).reshape(b, k, h, w)


def soft_argmax(probs: Tensor, grid_x: Tensor, grid_y: Tensor) -> Tensor:
    """Expected position ``(B, K, 2)`` of normalised maps ``probs (B, K, H, W)`` on the
    grids ``grid_x (W,)`` and ``grid_y (H,)``."""
    grid_x, grid_y = grid_x.to(probs), grid_y.to(probs)
    x = (probs.sum(dim=-2) * grid_x).sum(-1)
    y = (probs.sum(dim=-1) * grid_y).sum(-1)
    return torch.stack([x, y], dim=-1)


def window_around_peak(probs: Tensor, radius: int) -> Tensor:
    """Each map restricted to the cells within ``radius`` of its peak, renormalised.

    For a map ``P_k`` of shape ``(H, W)`` with its maximum at cell ``(i*, j*)``::

        P̃_k,ij = P_k,ij · 1[|i − i*| ≤ r, |j − j*| ≤ r] / Σ_i'j' (the same)

    so that :func:`soft_argmax` of ``P̃`` reads one mode of a map with several (a heatmap's
    argmax, refined to a continuous coordinate) instead of their average. The window is
    cut at the map's border; gradients flow through the cells inside it.

    Args:
        probs (Tensor): ``(B, K, H, W)`` normalised maps.
        radius (int): ``r ≥ 0``, in map cells (Chebyshev distance).

    Returns:
        Tensor: ``(B, K, H, W)`` the windowed maps, each summing to 1.
    """
    if radius < 0:
        raise ValueError(f'window_around_peak: radius must be >= 0, got {radius!r}')
    b, k, h, w = probs.shape
    peak = probs.reshape(b, k, h * w).argmax(-1)
    rows = torch.arange(h, device=probs.device)
    cols = torch.arange(w, device=probs.device)
    near_row = (rows - torch.div(peak, w, rounding_mode='floor')[..., None]).abs() <= radius
    near_col = (cols - (peak % w)[..., None]).abs() <= radius
    mask = near_row[..., :, None] & near_col[..., None, :]
    windowed = probs * mask
    return windowed / windowed.sum(dim=(-2, -1), keepdim=True)
