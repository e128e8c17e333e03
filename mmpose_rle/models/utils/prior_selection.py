"""Which priors of one image a YOLOX-Pose-style head keeps as its predicted instances.

MMPose's ``YOLOXPoseHead`` and ``RTMOHead`` select the same way in ``predict``: each prior's
best class score, the priors above ``score_thr`` (at most ``nms_pre`` of them, best first,
MMPose's ``filter_scores_and_topk``), then non-maximum suppression of their boxes at
``nms_thr`` (MMPose's ``nms_torch``; none at 1, the default).
"""

from typing import Mapping, Tuple

from mmpose.evaluation.functional import nms_torch
from mmpose.models.utils import filter_scores_and_topk
from torch import Tensor

__all__ = ['select_priors']


def select_priors(
    scores: Tensor, bboxes: Tensor, test_cfg: Mapping
) -> Tuple[Tensor, Tensor, Tensor]:
    """MMPose's selection of one image's priors (module docstring).

    Args:
        scores (Tensor): ``(N, C)`` class scores (probabilities) of the ``N`` priors.
        bboxes (Tensor): ``(N, 4)`` their decoded xyxy boxes.
        test_cfg (Mapping): ``score_thr`` (default 0.01), ``nms_pre`` (100000) and
            ``nms_thr`` (1.0).

    Returns:
        tuple[Tensor, Tensor, Tensor]: indices of the kept priors ``(n,)`` in MMPose's order,
        their scores ``(n,)`` and labels ``(n,)``.
    """
    best, labels = scores.max(1, keepdim=True)
    best, _, keep, results = filter_scores_and_topk(
        best,
        test_cfg.get('score_thr', 0.01),
        test_cfg.get('nms_pre', 100000),
        results=dict(labels=labels[:, 0]),
    )
    labels = results['labels']
    nms_thr = test_cfg.get('nms_thr', 1.0)
    if keep.numel() > 0 and nms_thr < 1.0:
        kept = nms_torch(bboxes[keep], best, nms_thr)
        keep, best, labels = keep[kept], best[kept], labels[kept]
    return keep, best, labels
