r"""σ-aware instance scores: the expected OKS of each keypoint under its predicted error.

The score of keypoint ``k`` is its expected OKS under its predicted error, ``E[OKS_k]``
(:func:`~mmpose_rle.models.utils.expected_oks`, which states the formula).
:class:`SigmaCocoMetric` is MMPose's ``CocoMetric`` with these scores in place of
``keypoint_scores`` (``1 − mean σ̂`` for an RLE head), so its ``score_mode`` rescoring and
OKS-NMS rank instances by σ. A top-down RLE head gives the same scores itself with
``keypoint_score='expected_oks'``; then MMPose's ``CocoMetric`` with
``keypoint_score_thr=0`` gives this metric's AP.

The object area ``s²`` is that of the predicted box and σ is in image pixels
(:func:`~mmpose_rle.evaluation.image_sigmas`), so top-down and bottom-up predictions are
scored alike; no ground truth is needed, and a bottom-up model's every prediction (false
positives too) is scored. Under ``score_mode='bbox'`` (the YOLOX-Pose configs') the
instance score is the box score alone and the keypoint scores change nothing;
``'bbox_keypoint'`` lets σ rank instances.

Under ``'bbox_keypoint'`` MMPose's instance score is the box score times the mean of the
keypoint scores above ``keypoint_score_thr``. ``CocoMetric``'s default threshold, 0.2, is
made for confidences that drop for invisible keypoints; ``E[OKS_k]`` is an expectation, and
dropping the keypoints below 0.2 would score an instance whose keypoints are mostly uncertain
by its few certain ones. :class:`SigmaCocoMetric` therefore defaults to 0: every keypoint
counts, and the instance score is the box score times the instance's expected OKS,
``mean_k E[OKS_k]``.
"""

from typing import Sequence

import numpy as np
from mmpose.evaluation.metrics import CocoMetric

from mmpose_rle.models.utils.expected_oks import box_areas, expected_oks
from mmpose_rle.registry import METRICS

from .uncertainty_metric import image_sigmas

__all__ = ['expected_oks', 'SigmaCocoMetric']


@METRICS.register_module()
class SigmaCocoMetric(CocoMetric):
    """MMPose's ``CocoMetric`` scoring keypoints by :func:`expected_oks` of their σ.

    Every argument is ``CocoMetric``'s; ``keypoint_score_thr`` defaults to 0 here (module
    docstring). The object area is that of each predicted instance's box (``bboxes`` of the
    predictions: those a top-down model crops, a bottom-up model's own). Samples without
    ``keypoint_sigmas`` keep their scores.
    """

    def __init__(self, *args, keypoint_score_thr: float = 0.0, **kwargs) -> None:
        super().__init__(*args, keypoint_score_thr=keypoint_score_thr, **kwargs)

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        """Rescore copies of the samples (the evaluator's other metrics see the model's own
        scores) and pass them to ``CocoMetric``."""
        rescored = []
        for sample in data_samples:
            sigmas = image_sigmas(sample)
            if sigmas is not None:
                pred = sample['pred_instances']
                areas = box_areas(pred['bboxes'])
                scores = expected_oks(sigmas, areas, self.dataset_meta['sigmas'])
                pred = dict(pred, keypoint_scores=scores.astype(np.float32))
                sample = dict(sample, pred_instances=pred)
            rescored.append(sample)
        super().process(data_batch, rescored)
