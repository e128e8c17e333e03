"""Box sources for top-down models: ground-truth boxes of a COCO annotation file."""

import os
from collections import defaultdict
from typing import Callable, Dict, List

import mmengine
import numpy as np

__all__ = ['BoxSource', 'coco_box_source']

#: A box source maps an image path to its ``(N, 4)`` boxes ``(x1, y1, x2, y2)``.
BoxSource = Callable[[str], np.ndarray]


def coco_box_source(ann_file: str) -> BoxSource:
    """The boxes of a COCO keypoint file, looked up by image file name.

    Every non-crowd annotation with a box of positive size contributes its ``bbox``
    (COCO's ``x, y, w, h``, returned as ``x1, y1, x2, y2``). An image the file does not
    name gets no boxes, and :class:`~mmpose_rle.apis.SigmaPoseInferencer` then falls back
    to MMPose's source (the detector, or the whole image).

    Args:
        ann_file (str): Path of the COCO JSON file.

    Returns:
        BoxSource: ``path -> (N, 4)`` boxes of the image of that file name.
    """
    coco = mmengine.load(ann_file)
    names = {img['id']: os.path.basename(img['file_name']) for img in coco.get('images', [])}
    boxes: Dict[str, List[List[float]]] = defaultdict(list)
    for ann in coco.get('annotations', []):
        x, y, w, h = ann.get('bbox', (0, 0, 0, 0))
        if not ann.get('iscrowd', 0) and w > 0 and h > 0 and ann['image_id'] in names:
            boxes[names[ann['image_id']]].append([x, y, x + w, y + h])

    def source(path: str) -> np.ndarray:
        found = boxes.get(os.path.basename(path), [])
        return np.asarray(found, dtype=np.float32).reshape(-1, 4)

    return source
