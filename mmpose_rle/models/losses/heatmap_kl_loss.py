r"""Dense supervision of a spatial softmax: KL divergence to a Gaussian around the label.

For a keypoint with normalised label ``μ = (μ_x, μ_y)`` (``RegressionLabel``'s ``[0, 1]``) and
heatmaps of ``W × H`` cells whose centres sit at the head's grid ``g_x(j)``, ``g_y(i)``
(:func:`~mmpose_rle.models.utils.pixel_grid`, spacing ``1/W`` and ``1/H``), the target is a
Gaussian of ``s`` cells, normalised over the cells::

    log T_ij = −[(W (g_x(j) − c_x))² + (H (g_y(i) − c_y))²] / (2 s²) − log Σ_i'j' exp(…)

and the loss per keypoint is ``KL(T ‖ P) = Σ_ij T_ij (log T_ij − log P_ij)`` with ``log P`` the
head's ``log_softmax(β Z)``.

The centre ``c``: a Gaussian at the label (``c = μ``, ``match_mean=False``) is cut by the map's
border, so near the border its mean — the soft-argmax of a map equal to it — lies inside the
label, and the dense term pulls ``μ̂`` away from it. With ``match_mean=True`` (default) ``c``
is chosen per axis so that the target's first moment is the label,
``Σ_j T_j g_x(j) = μ_x``; the mean of the cut Gaussian rises strictly with ``c`` (an
exponential family in ``c/s²``), so ``c`` is found by bisection. A label closer to the
border than the outermost cell centre cannot be matched; its target is the limit, the mass
on the outermost cells.

Both logarithms are computed as such — ``log T`` in closed form and ``log P`` by
``log_softmax`` — so there is no ``log 0`` and no ``0 · ∞`` whatever the logits, in float32
also under autocast. The gradient with respect to the logits is ``β (P − T)``: a dense
signal from the first step, even when ``P`` is flat (where the soft-argmax alone gives
gradients of order ``β/(H·W)``). The KL is 0 when ``P = T``, and the target is exact at any
sub-cell position: no quantisation.

Shapes: ``log_p (N, K, H, W)``, ``labels (N, K, 2)``, ``weights (N, K)``, grids ``(W,)`` and
``(H,)``; the result is a scalar: the weighted sum over keypoints divided by ``N`` (as
MMPose's losses with ``size_average``), times ``loss_weight``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

__all__ = ['HeatmapKLLoss', 'gaussian_log_target', 'mean_matched_centres']

_BISECTION_STEPS = 60
_REACH = 20.0  # the search for c spans the grid plus this many target widths either side


def _log_weights(cells: Tensor, centres: Tensor, sigma: float) -> Tensor:
    """``−(u_j − c)² / (2 s²)`` for cell positions ``u`` ``(W,)`` and centres ``(...)``."""
    return -((cells - centres[..., None]) ** 2) / (2 * sigma**2)


@torch.no_grad()
def mean_matched_centres(labels: Tensor, grid: Tensor, sigma: float) -> Tensor:
    """Centres ``c`` ``(...)`` whose cut Gaussian on ``grid`` ``(W,)`` has mean ``labels``.

    All in normalised units; ``sigma`` in cells (``1/W``). Solved by bisection in float64;
    labels beyond the outermost cell centres get the nearest reachable mean.
    """
    scale = len(grid)
    cells = grid.double() * scale
    target = labels.double() * scale
    lo = torch.full_like(target, float(cells.min()) - _REACH * sigma)
    hi = torch.full_like(target, float(cells.max()) + _REACH * sigma)
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        mean = (torch.softmax(_log_weights(cells, mid, sigma), -1) * cells).sum(-1)
        below = mean < target
        lo = torch.where(below, mid, lo)
        hi = torch.where(below, hi, mid)
    return (0.5 * (lo + hi) / scale).to(labels.dtype)


def gaussian_log_target(
    labels: Tensor, grid_x: Tensor, grid_y: Tensor, sigma: float, match_mean: bool = True
) -> Tensor:
    """``log T`` ``(N, K, H, W)`` of the normalised Gaussian targets (module docstring).

    Args:
        labels (Tensor): ``(N, K, 2)`` normalised labels.
        grid_x (Tensor): ``(W,)`` cell centres, normalised.
        grid_y (Tensor): ``(H,)`` cell centres, normalised.
        sigma (float): ``s`` in cells.
        match_mean (bool): Centre the Gaussian so that its mean is the label.
    """
    gx, gy = grid_x.to(labels), grid_y.to(labels)
    width, height = len(gx), len(gy)
    cx, cy = labels[..., 0], labels[..., 1]
    if match_mean:
        cx, cy = mean_matched_centres(cx, gx, sigma), mean_matched_centres(cy, gy, sigma)
    log_x = _log_weights(gx * width, cx * width, sigma)  # (N, K, W)
    log_y = _log_weights(gy * height, cy * height, sigma)  # (N, K, H)
    log_t = log_y[..., :, None] + log_x[..., None, :]
    n, k = labels.shape[:2]
    return log_t - torch.logsumexp(log_t.reshape(n, k, -1), dim=-1)[..., None, None]


@MODELS.register_module()
class HeatmapKLLoss(nn.Module):
    """``KL(T ‖ P)`` between Gaussian targets and a spatial softmax (module docstring).

    Args:
        target_sigma (float): ``s``, the target's standard deviation in heatmap cells.
            Default: 2.0 (MMPose's ``MSRAHeatmap`` default).
        loss_weight (float): Multiplier of the loss. Default: 1.0.
        match_mean (bool): Centre each target so that its mean is the label (module
            docstring). Default: True.
    """

    def __init__(
        self, target_sigma: float = 2.0, loss_weight: float = 1.0, match_mean: bool = True
    ) -> None:
        super().__init__()
        if not target_sigma > 0:
            raise ValueError(f'HeatmapKLLoss: target_sigma must be positive, got {target_sigma}')
        self.target_sigma = float(target_sigma)
        self.loss_weight = float(loss_weight)
        self.match_mean = bool(match_mean)

    def forward(
        self,
        log_p: Tensor,
        labels: Tensor,
        grids: Tuple[Tensor, Tensor],
        weights: Optional[Tensor] = None,
    ) -> Tensor:
        """The weighted KL divergence.

        Args:
            log_p (Tensor): ``log P``, shape ``(N, K, H, W)``, normalised over each map.
            labels (Tensor): Normalised labels ``(N, K, 2)``.
            grids (tuple[Tensor, Tensor]): The head's cell centres ``(W,)`` and ``(H,)``.
            weights (Tensor, optional): ``(N, K)`` keypoint weights; all 1 when None.

        Returns:
            Tensor: A scalar.
        """
        if log_p.dim() != 4 or labels.shape != (*log_p.shape[:2], 2):
            raise ValueError(
                f'HeatmapKLLoss: log_p (N, K, H, W) and labels (N, K, 2) must match, got '
                f'{tuple(log_p.shape)} and {tuple(labels.shape)}'
            )
        with torch.autocast(device_type=log_p.device.type, enabled=False):
            log_p = log_p.float()
            grid_x, grid_y = grids
            if (len(grid_x), len(grid_y)) != (log_p.shape[-1], log_p.shape[-2]):
                raise ValueError(
                    f'HeatmapKLLoss: grids of {len(grid_x)}x{len(grid_y)} cells do not fit '
                    f'maps of {log_p.shape[-1]}x{log_p.shape[-2]} (w x h)'
                )
            log_t = gaussian_log_target(
                labels.float(), grid_x, grid_y, self.target_sigma, self.match_mean
            )
            kl = (log_t.exp() * (log_t - log_p)).sum(dim=(-2, -1))  # (N, K)
            if weights is not None:
                kl = kl * weights.to(kl)
            return self.loss_weight * kl.sum() / len(kl)
