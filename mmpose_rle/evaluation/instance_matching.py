r"""Pair the ground-truth instances of an image with a bottom-up model's predictions.

A bottom-up (one-stage) model predicts ``P`` instances per image in its own order, with
false positives and missed people; the image has ``G`` labelled instances. To compare
predicted keypoints and σ with the labels, :func:`match_instances` pairs each ground-truth
instance ``g`` with at most one prediction ``p``, greedily by the IoU of their xyxy boxes::

    IoU_gp = |b_g ∩ b̂_p| / |b_g ∪ b̂_p|                       (G, P)
    while an unpaired (g, p) has IoU_gp ≥ t:  pair the one of largest IoU

with ``t = min_iou`` (0.5 by default, the detection criterion of PASCAL VOC and of COCO's
AP50); ties go to the lower ``g``, then the lower ``p``.

**Why boxes, not OKS.** COCO's keypoint AP pairs by OKS, which is a function of the keypoint
errors themselves: pairing by it keeps a prediction only when its keypoints are close
enough, so the errors the σ metrics and the σ calibration see would be cut off at the
threshold (coverage overstated, a calibration fitted too small). The box is a separate
output (YOLOX-Pose regresses it in its own branch): pairing by box IoU picks *which person*
a prediction is about without selecting on how well it placed that person's keypoints, and
needs no per-keypoint constants. Taking the largest IoU first, not the highest score, makes
the pairs independent of the predictions' order.

**Missing, not errors.** A ground-truth instance left without a prediction is *missing*: it
gives no error (a missed person is a detection failure, which AP counts, and says nothing of
the σ of keypoints that were never predicted). Predictions left without a ground truth
(false positives) are left out. Ground truth without a visible keypoint takes no part: it
has nothing to score and could take the prediction of a labelled person.

:func:`instance_pairs` pairs the instances of one predicted data sample (its
``pred_instances`` and ``gt_instances``, as ``InstanceData`` or as the dicts MMEngine's
metrics receive): matched as above when the sample is bottom-up, in order when it is
top-down (one prediction per ground-truth instance, whose box a top-down estimator copies).
"""

from typing import Mapping, NamedTuple, Optional

import numpy as np
import torch
from mmpose.structures.bbox import bbox_overlaps

__all__ = ['DATA_MODES', 'InstancePairs', 'match_instances', 'is_bottomup', 'instance_pairs']

#: How the instances of a data sample are paired (MMPose's names of the two data modes).
DATA_MODES = ('topdown', 'bottomup')


class InstancePairs(NamedTuple):
    """The paired instances of one data sample.

    Attributes:
        pred (np.ndarray): ``(M,)`` indices into the predictions.
        gt (np.ndarray): ``(M,)`` indices into the ground truth, the partner of each.
        missing (np.ndarray): ``(U,)`` indices of labelled ground truth (a visible
            keypoint) left without a prediction.
    """

    pred: np.ndarray
    gt: np.ndarray
    missing: np.ndarray


def match_instances(
    pred_bboxes: np.ndarray,
    gt_bboxes: np.ndarray,
    gt_labelled: Optional[np.ndarray] = None,
    min_iou: float = 0.5,
) -> np.ndarray:
    """The prediction paired with each ground-truth instance (module docstring).

    Args:
        pred_bboxes (np.ndarray): ``(P, 4)`` predicted xyxy boxes.
        gt_bboxes (np.ndarray): ``(G, 4)`` ground-truth xyxy boxes, same pixels.
        gt_labelled (np.ndarray, optional): ``(G,)`` which ground truth takes part (with a
            visible keypoint); all when None.
        min_iou (float): Least IoU of a pair. Default: 0.5.

    Returns:
        np.ndarray: ``(G,)`` the index of each ground truth's prediction, −1 for none.
    """
    pred = torch.as_tensor(np.asarray(pred_bboxes, np.float64).reshape(-1, 4))
    gt = torch.as_tensor(np.asarray(gt_bboxes, np.float64).reshape(-1, 4))
    iou = bbox_overlaps(gt, pred).numpy()
    if gt_labelled is not None:
        iou[~np.asarray(gt_labelled, bool)] = -1.0
    partner = np.full(len(gt), -1, dtype=np.int64)
    taken = np.zeros(len(pred), dtype=bool)
    for flat in np.argsort(-iou, axis=None, kind='stable'):
        g, p = np.unravel_index(flat, iou.shape)
        if iou[g, p] < min_iou:
            break
        if partner[g] < 0 and not taken[p]:
            partner[g], taken[p] = p, True
    return partner


def _labelled(gt: Mapping) -> np.ndarray:
    """``(G,)`` which ground-truth instances have a visible keypoint."""
    num_gt = len(np.asarray(gt['keypoints']))
    if num_gt == 0:
        return np.zeros(0, dtype=bool)
    return np.asarray(gt['keypoints_visible']).reshape(num_gt, -1).max(1) > 0


def is_bottomup(pred: Mapping, gt: Mapping) -> bool:
    """Whether a sample's predictions must be matched to its ground truth: False when they
    are the ground truth's instances (as many, and with the same boxes or without boxes, as
    a top-down estimator's), True otherwise."""
    num_pred, num_gt = len(np.asarray(pred['keypoints'])), len(np.asarray(gt['keypoints']))
    if num_pred != num_gt:
        return True
    if 'bboxes' not in pred or 'bboxes' not in gt:
        return False
    return not np.array_equal(
        np.asarray(pred['bboxes'], np.float64), np.asarray(gt['bboxes'], np.float64)
    )


def instance_pairs(
    pred: Mapping, gt: Mapping, data_mode: Optional[str] = None, min_iou: float = 0.5
) -> InstancePairs:
    """Pair a sample's predicted and ground-truth instances (module docstring).

    Args:
        pred (Mapping): ``pred_instances``: ``keypoints`` ``(P, K, 2)`` and, bottom-up,
            ``bboxes`` ``(P, 4)``.
        gt (Mapping): ``gt_instances``: ``keypoints`` ``(G, K, 2)``,
            ``keypoints_visible`` ``(G, K)`` and, bottom-up, ``bboxes`` ``(G, 4)``.
        data_mode (str, optional): ``'topdown'`` (pair in order), ``'bottomup'``
            (:func:`match_instances`), or None to tell by :func:`is_bottomup`.
        min_iou (float): Least IoU of a bottom-up pair. Default: 0.5.

    Returns:
        InstancePairs: The pairs and the labelled ground truth left without a prediction.
    """
    if data_mode not in (None, *DATA_MODES):
        raise ValueError(f'data_mode must be None or one of {DATA_MODES}, got {data_mode!r}')
    if data_mode == 'topdown' or (data_mode is None and not is_bottomup(pred, gt)):
        order = np.arange(len(np.asarray(gt['keypoints'])))
        return InstancePairs(order, order, np.zeros(0, np.int64))
    labelled = _labelled(gt)
    partner = match_instances(pred['bboxes'], gt['bboxes'], labelled, min_iou)
    paired = np.flatnonzero(partner >= 0)
    return InstancePairs(partner[paired], paired, np.flatnonzero(labelled & (partner < 0)))
