r"""Dense supervision of a spatial softmax: KL divergence to a Gaussian around the label.

For a keypoint with normalised label ``μ = (μ_x, μ_y)`` (``RegressionLabel``'s ``[0, 1]``) and
heatmaps of ``W × H`` cells whose centres sit at ``g_x(j) = (j + o)/W``, ``g_y(i) = (i + o)/H``
(:func:`~mmpose_rle.models.utils.cell_grid`), the target is a Gaussian of ``s`` cells around
the label, normalised over the cells::

    log T_ij = −[(W (g_x(j) − μ_x))² + (H (g_y(i) − μ_y))²] / (2 s²) − log Σ_i'j' exp(…)

and the loss per keypoint is ``KL(T ‖ P) = Σ_ij T_ij (log T_ij − log P_ij)`` with ``log P`` the
head's ``log_softmax(β Z)``. Both logarithms are computed as such — ``log T`` in closed form
and ``log P`` by ``log_softmax`` — so there is no ``log 0`` and no ``0 · ∞`` whatever the logits
(a cell with ``T_ij = 0`` contributes ``0 · (finite)``), in float32 also under autocast. Its
gradient with respect to the logits is ``β (P − T)``: a dense signal from the first step, even
when ``P`` is flat (where the soft-argmax alone gives gradients of order ``β/(H·W)``). The KL is
0 when ``P = T`` (the cross-entropy minus the target's entropy), and the target is exact at any
sub-cell position: no quantisation. Labels outside the maps get the truncated Gaussian.

Shapes: ``log_p (N, K, H, W)``, ``labels (N, K, 2)``, ``weights (N, K)``; the result is a
scalar: the weighted sum over keypoints divided by ``N`` (as MMPose's losses with
``size_average``), times ``loss_weight``.
"""

from typing import Optional

import torch
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from ..utils import cell_grid

__all__ = ['HeatmapKLLoss', 'gaussian_log_target']


def gaussian_log_target(
    labels: Tensor, width: int, height: int, sigma: float, offset: float = 0.5
) -> Tensor:
    """``log T`` ``(N, K, H, W)`` of the normalised Gaussian targets (module docstring)."""
    gx = cell_grid(width, offset).to(labels)
    gy = cell_grid(height, offset).to(labels)
    dx = (width * (gx - labels[..., 0:1])) ** 2  # (N, K, W)
    dy = (height * (gy - labels[..., 1:2])) ** 2  # (N, K, H)
    log_t = -(dy[..., :, None] + dx[..., None, :]) / (2 * sigma**2)
    n, k = labels.shape[:2]
    return log_t - torch.logsumexp(log_t.reshape(n, k, -1), dim=-1)[..., None, None]


@MODELS.register_module()
class HeatmapKLLoss(nn.Module):
    """``KL(T ‖ P)`` between Gaussian targets and a spatial softmax (module docstring).

    Args:
        target_sigma (float): ``s``, the target's standard deviation in heatmap cells.
            Default: 2.0 (MMPose's ``MSRAHeatmap`` default).
        loss_weight (float): Multiplier of the loss. Default: 1.0.
    """

    def __init__(self, target_sigma: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not target_sigma > 0:
            raise ValueError(f'HeatmapKLLoss: target_sigma must be positive, got {target_sigma}')
        self.target_sigma = float(target_sigma)
        self.loss_weight = float(loss_weight)

    def forward(
        self,
        log_p: Tensor,
        labels: Tensor,
        weights: Optional[Tensor] = None,
        grid_offset: float = 0.5,
    ) -> Tensor:
        """The weighted KL divergence.

        Args:
            log_p (Tensor): ``log P``, shape ``(N, K, H, W)``, normalised over each map.
            labels (Tensor): Normalised labels ``(N, K, 2)``.
            weights (Tensor, optional): ``(N, K)`` keypoint weights; all 1 when None.
            grid_offset (float): ``o`` of the cell grid (the head's).

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
            height, width = log_p.shape[-2:]
            log_t = gaussian_log_target(
                labels.float(), width, height, self.target_sigma, grid_offset
            )
            kl = (log_t.exp() * (log_t - log_p)).sum(dim=(-2, -1))  # (N, K)
            if weights is not None:
                kl = kl * weights.to(kl)
            return self.loss_weight * kl.sum() / len(kl)
