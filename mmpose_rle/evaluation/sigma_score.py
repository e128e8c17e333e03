r"""σ-aware instance scores: the expected OKS of each keypoint under its predicted error.

COCO's keypoint similarity of keypoint ``k`` is ``OKS_k = exp(−d² / (2 s² κ_k²))`` with ``d``
the error, ``s²`` the object's area and ``κ_k = 2 σ_k^OKS`` the data set's per-keypoint
constant. If the error is Gaussian with RMS ``σ_x``, ``σ_y`` per axis, its expectation is::

    E[OKS_k] = (1 + σ_x² / v)^(−1/2) · (1 + σ_y² / v)^(−1/2),   v = s² κ_k²

— the score a keypoint deserves if σ means what it says: near 1 when the predicted error is
small for the object, near 0 when it is large. (For a Laplace error the expectation has no
closed form; the Gaussian with the same RMS is used.) :class:`SigmaCocoMetric` is MMPose's
``CocoMetric`` with these scores in place of ``keypoint_scores`` (``1 − mean σ̂`` for an RLE
head), so its ``score_mode`` rescoring and OKS-NMS rank instances by σ.

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

from mmpose_rle.registry import METRICS

from .uncertainty_metric import image_sigmas

__all__ = ['expected_oks', 'SigmaCocoMetric']


def expected_oks(sigmas: np.ndarray, areas: np.ndarray, oks_sigmas: np.ndarray) -> np.ndarray:
    """``E[OKS_k]`` ``(N, K)`` for σ ``(N, K, 2)`` in image pixels, object areas ``(N,)``
    and the data set's OKS sigmas ``(K,)`` (module docstring)."""
    v = np.asarray(areas, float)[:, None] * (2 * np.asarray(oks_sigmas, float))[None] ** 2
    ratio = np.asarray(sigmas, float) ** 2 / np.maximum(v, np.finfo(float).tiny)[..., None]
    return np.prod(1 / np.sqrt(1 + ratio), axis=-1)


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
                boxes = np.asarray(pred['bboxes'], float).reshape(-1, 4)
                areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                scores = expected_oks(sigmas, areas, self.dataset_meta['sigmas'])
                pred = dict(pred, keypoint_scores=scores.astype(np.float32))
                sample = dict(sample, pred_instances=pred)
            rescored.append(sample)
        super().process(data_batch, rescored)
