"""A neck with dropout, for the tests of exact resume with stochastic layers.

Importing this module registers ``mmpose_rle.DropoutGAP`` (only the tests import it).
"""

from typing import Tuple

from mmpose.models.necks import GlobalAveragePooling
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

__all__ = ['DropoutGAP']


@MODELS.register_module(force=True)
class DropoutGAP(nn.Module):
    """MMPose's ``GlobalAveragePooling`` followed by ``Dropout(p)``."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.pool = GlobalAveragePooling()
        self.dropout = nn.Dropout(p)

    def forward(self, feats: Tuple[Tensor]) -> Tuple[Tensor]:
        return tuple(self.dropout(f) for f in self.pool(feats))
