"""A top-down test pipeline with a detector's boxes: each instance is cropped from the
detection that overlaps its ground-truth box most."""

from collections import defaultdict
from typing import Dict, List

import mmengine
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpose.structures.bbox import bbox_overlaps, bbox_xyxy2cs

from mmpose_rle.registry import TRANSFORMS

__all__ = ['DetectedBox', 'load_coco_detections']


def load_coco_detections(bbox_file: str, score_thr: float = 0.0) -> Dict[int, np.ndarray]:
    """The boxes of a COCO detection results file, by image id.

    Args:
        bbox_file (str): A JSON list of ``{'image_id', 'bbox': [x, y, w, h], 'score'}`` (the
            format MMDetection writes and MMPose's ``bbox_file`` reads).
        score_thr (float): Keep boxes with a score of at least this.

    Returns:
        dict: ``image_id -> (M, 4)`` float32 boxes ``(x1, y1, x2, y2)``.
    """
    grouped: Dict[int, List[List[float]]] = defaultdict(list)
    for det in mmengine.load(bbox_file):
        x, y, w, h = det['bbox']
        if det.get('score', 1.0) >= score_thr and w > 0 and h > 0:
            grouped[det['image_id']].append([x, y, x + w, y + h])
    return {k: np.asarray(v, np.float32).reshape(-1, 4) for k, v in grouped.items()}


@TRANSFORMS.register_module()
class DetectedBox(BaseTransform):
    """Crop every instance from a detector's box, as a top-down model runs with a box source.

    Takes the place of MMPose's ``GetBBoxCenterScale`` in a test pipeline. Each ground-truth
    instance is cropped from the detection of its image (``bbox_file``) with the largest IoU
    with its ground-truth ``bbox``; an instance that no detection overlaps is cropped from the
    whole frame, as a top-down model runs with no box. The crop is turned into a centre and
    scale exactly as ``GetBBoxCenterScale`` turns a box (``bbox_xyxy2cs`` with the same
    ``padding``). The instance's own ``bbox`` is left as it is, so metrics normalised by the
    ground-truth box (PCK, COCO's OKS) keep their meaning. This measures the keypoints given
    the detector's boxes; detections that overlap no instance (false positives) are not
    evaluated. On the command line (``--cfg-options``)::

        val_dataloader.dataset.pipeline.1.type=mmpose_rle.DetectedBox
        val_dataloader.dataset.pipeline.1.bbox_file=detections.json

    Required keys: ``img_id``, ``img_shape`` (``(h, w)``), ``bbox`` (``(N, 4)``). Added
    keys: ``bbox_center`` and ``bbox_scale`` (``(N, 2)`` each).

    Args:
        bbox_file (str): COCO detection results (:func:`load_coco_detections`).
        padding (float): The scale factor of the box, as in ``GetBBoxCenterScale``.
            Default: 1.25.
        score_thr (float): Detections need a score of at least this. Default: 0.
    """

    def __init__(self, bbox_file: str, padding: float = 1.25, score_thr: float = 0.0) -> None:
        super().__init__()
        if padding <= 0:
            raise ValueError(f'DetectedBox: padding must be positive, got {padding}')
        self.bbox_file = bbox_file
        self.padding = padding
        self.score_thr = score_thr
        self.detections = load_coco_detections(bbox_file, score_thr)

    def transform(self, results: Dict) -> Dict:
        """Set ``bbox_center`` and ``bbox_scale`` of every instance from its detection."""
        missing = [k for k in ('img_id', 'img_shape', 'bbox') if k not in results]
        if missing:
            raise KeyError(f'DetectedBox needs {missing} (load the image first)')
        h, w = results['img_shape'][:2]
        truth = np.asarray(results['bbox'], np.float32).reshape(-1, 4)
        crops = np.repeat(np.array([[0, 0, w, h]], np.float32), len(truth), axis=0)
        dets = self.detections.get(results['img_id'])
        if dets is not None and len(truth):
            iou = bbox_overlaps(torch.from_numpy(truth), torch.from_numpy(dets)).numpy()  # (N, M)
            best = iou.argmax(axis=1)
            found = iou[np.arange(len(truth)), best] > 0
            crops[found] = dets[best[found]]
        center, scale = bbox_xyxy2cs(crops, padding=self.padding)
        results['bbox_center'] = center.reshape(-1, 2)
        results['bbox_scale'] = scale.reshape(-1, 2)
        return results

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(bbox_file={self.bbox_file!r}, padding={self.padding}, '
            f'score_thr={self.score_thr})'
        )
