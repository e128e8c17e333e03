"""Every prior of an RTMO head, decoded as ``RTMOHead.predict`` decodes it.

Shared by :class:`~mmpose_rle.models.heads.RTMORLEHead` and
:class:`~mmpose_rle.models.heads.RTMORegressionHead`, both subclasses of MMPose's ``RTMOHead``.
"""

from typing import List, Tuple

import torch
from torch import Tensor

__all__ = ['RTMOPriorsMixin']


class RTMOPriorsMixin:
    """:meth:`decoded_priors` for a subclass of MMPose's ``RTMOHead``."""

    def decoded_priors(
        self, cls_maps: List[Tensor], bbox_maps: List[Tensor]
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """The priors of all levels ``(N, 4)`` (x, y and the stride twice), their class
        probabilities ``(B, N, C)`` and decoded xyxy boxes ``(B, N, 4)`` (input pixels, not
        clamped), from per-level ``(B, C, H, W)`` classification and ``(B, 4, H, W)`` box maps.
        """
        featmap_sizes = [m.shape[2:] for m in cls_maps]
        priors = torch.cat(
            self.prior_generator.grid_priors(
                featmap_sizes, dtype=cls_maps[0].dtype, device=cls_maps[0].device, with_stride=True
            )
        )
        scores = self._flatten_predictions(cls_maps).sigmoid()
        bboxes = self.decode_bbox(
            self._flatten_predictions(bbox_maps), priors[:, :2], priors[:, -1]
        )
        return priors, scores, bboxes
