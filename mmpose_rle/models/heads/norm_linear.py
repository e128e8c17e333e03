"""Feature-normalised linear layer of the official RLE head."""

import torch
from torch import Tensor, nn

__all__ = ['FeatureNormLinear']


class FeatureNormLinear(nn.Linear):
    """``y = (x Wᵀ) / max(‖x‖₂, tiny) + b``: the official RLE coordinate layer.

    The product with the weight is divided by the L2 norm of each input row before the
    bias is added (``Linear(norm=True)`` in ``rlepose/models/regression_nf.py`` of the
    official code), which makes the coordinates invariant to the feature scale. The
    parameters are those of :class:`torch.nn.Linear`, so initialisers and checkpoints
    treat it as one.

    Shapes:
        ``x``: ``(B, in_features)`` → ``(B, out_features)``.
    """

    def forward(self, x: Tensor) -> Tensor:
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        y = x.matmul(self.weight.t()) / norm.clamp_min(torch.finfo(x.dtype).tiny)
        return y if self.bias is None else y + self.bias
