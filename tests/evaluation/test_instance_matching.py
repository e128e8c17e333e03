"""Pairing ground truth with bottom-up predictions: greedy by box IoU, unpaired ground truth
missing, false positives and unlabelled ground truth left out, top-down samples in order."""

import numpy as np
import pytest
from mmengine.structures import InstanceData

from mmpose_rle.evaluation import instance_pairs, is_bottomup, match_instances

GT_BOXES = np.array([[10, 10, 50, 90], [60, 20, 100, 100]], float)  # A, B side by side
#: B', a false positive far away, A' — in the model's order.
PRED_BOXES = np.array([[62, 22, 98, 101], [400, 300, 430, 360], [12, 8, 49, 88]], float)


def test_two_people_three_predictions_in_their_own_order():
    assert match_instances(PRED_BOXES, GT_BOXES).tolist() == [2, 0]
    assert match_instances(PRED_BOXES[[1, 2, 0]], GT_BOXES).tolist() == [1, 2]


def test_the_largest_iou_is_paired_first():
    """Boxes one pixel high: IoU of intervals. A [0, 10], B [2, 11]; p [1, 11] is A's best
    (9/11) but B's better (9/10), q [0, 8] A's second (8/10): a ground truth-first greedy
    would give A p and B q (6/11 = 0.55); the largest IoU first gives B p, A q."""
    gt = np.array([[0, 0, 10, 1], [2, 0, 11, 1]], float)
    pred = np.array([[1, 0, 11, 1], [0, 0, 8, 1]], float)
    assert match_instances(pred, gt).tolist() == [1, 0]


def test_below_min_iou_and_unlabelled_ground_truth_stay_unpaired():
    far = PRED_BOXES[[1]]
    assert match_instances(far, GT_BOXES).tolist() == [-1, -1]
    assert match_instances(PRED_BOXES, GT_BOXES, min_iou=0.95).tolist() == [-1, -1]
    assert match_instances(PRED_BOXES, GT_BOXES, np.array([False, True])).tolist() == [-1, 0]
    assert match_instances(np.zeros((0, 4)), GT_BOXES).tolist() == [-1, -1]
    assert match_instances(PRED_BOXES, np.zeros((0, 4))).tolist() == []


def _instances(boxes, visible):
    n = len(boxes)
    return InstanceData(
        bboxes=np.asarray(boxes, np.float32),
        keypoints=np.zeros((n, 3, 2), np.float32),
        keypoints_visible=np.asarray(visible, np.float32).reshape(n, 3),
    )


def test_instance_pairs_of_a_bottomup_sample():
    c = [[0, 0, 5, 5]]  # labelled, not predicted: missing
    d = [[200, 200, 250, 250]]  # no visible keypoint: left out
    gt = _instances(np.concatenate([GT_BOXES, c, d]), [[1, 1, 1], [0, 1, 0], [1, 0, 0], [0] * 3])
    pred = _instances(np.concatenate([PRED_BOXES, d]), np.ones((4, 3)))
    pairs = instance_pairs(pred, gt)
    assert pairs.gt.tolist() == [0, 1] and pairs.pred.tolist() == [2, 0]
    assert pairs.missing.tolist() == [2]
    as_dicts = instance_pairs(pred.to_dict(), gt.to_dict(), 'bottomup')  # what metrics get
    assert [a.tolist() for a in as_dicts] == [a.tolist() for a in pairs]


def test_top_down_samples_pair_in_order():
    gt = _instances(GT_BOXES, np.ones((2, 3)))
    copied = _instances(GT_BOXES, np.ones((2, 3)))  # a top-down estimator copies the boxes
    assert not is_bottomup(copied, gt)
    pairs = instance_pairs(copied, gt)
    assert pairs.pred.tolist() == pairs.gt.tolist() == [0, 1] and len(pairs.missing) == 0
    assert is_bottomup(_instances(PRED_BOXES[:2], np.ones((2, 3))), gt)
    assert is_bottomup(_instances(PRED_BOXES, np.ones((3, 3))), gt)
    swapped = _instances(GT_BOXES[::-1], np.ones((2, 3)))
    assert instance_pairs(swapped, gt, 'topdown').pred.tolist() == [0, 1]
    assert instance_pairs(swapped, gt).pred.tolist() == [1, 0]
    with pytest.raises(ValueError, match='data_mode'):
        instance_pairs(copied, gt, 'one_stage')
