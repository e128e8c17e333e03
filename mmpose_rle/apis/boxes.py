"""Box sources for top-down models: ground-truth boxes of a COCO annotation file, or the
instances a one-stage (bottom-up) model finds."""

import os
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Union

import mmengine
import numpy as np
from mmengine.config import Config
from mmpose.apis import inference_bottomup, init_model
from mmpose.models import BottomupPoseEstimator

import mmpose_rle  # noqa: F401  (registers the parts)

__all__ = [
    'BoxSource',
    'coco_box_source',
    'coco_detections',
    'one_stage_box_source',
    'ranked_boxes',
]

#: A box source maps an image (its path, or a BGR array such as a video frame) to its
#: ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` or ``(N, 5)`` boxes with a score, in image pixels.
BoxSource = Callable[[Union[str, np.ndarray]], np.ndarray]


def coco_box_source(ann_file: str) -> BoxSource:
    """The boxes of a COCO keypoint file, looked up by image file name.

    Every non-crowd annotation with a box of positive size contributes its ``bbox``
    (COCO's ``x, y, w, h``, returned as ``x1, y1, x2, y2``). An image the file does not
    name, or an image given as an array (it has no name), gets no boxes, and
    :class:`~mmpose_rle.apis.SigmaPoseInferencer` then falls back to MMPose's source (the
    detector, or the whole image).

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

    def source(image: Union[str, np.ndarray]) -> np.ndarray:
        found = boxes.get(os.path.basename(image), []) if isinstance(image, str) else []
        return np.asarray(found, dtype=np.float32).reshape(-1, 4)

    return source


def ranked_boxes(
    bboxes: np.ndarray,
    scores: np.ndarray,
    image_shape: tuple,
    score_thr: float = 0.3,
    max_boxes: Optional[int] = None,
) -> np.ndarray:
    """Boxes scoring above ``score_thr``, clipped to the image, best first.

    Args:
        bboxes (np.ndarray): ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` in image pixels.
        scores (np.ndarray): ``(N,)`` their scores.
        image_shape (tuple): ``(height, width, ...)`` of the image.
        score_thr (float): Boxes need a score above it.
        max_boxes (int, optional): Keep at most this many (the best).

    Returns:
        np.ndarray: ``(M, 5)`` float32 ``(x1, y1, x2, y2, score)`` by decreasing score
        (stable), without boxes of no area inside the image.
    """
    height, width = image_shape[:2]
    boxes = np.asarray(bboxes, dtype=np.float32).reshape(-1, 4)
    boxes = np.clip(boxes, 0, np.array([width, height, width, height], np.float32))
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    keep = (scores > score_thr) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    order = np.flatnonzero(keep)[np.argsort(-scores[keep], kind='stable')][:max_boxes]
    return np.concatenate([boxes[order], scores[order, None]], axis=1)


def one_stage_box_source(
    config: Union[str, Config],
    checkpoint: Optional[str] = None,
    score_thr: float = 0.3,
    max_boxes: Optional[int] = None,
    device: str = 'cpu',
) -> BoxSource:
    """The boxes of the instances a one-stage model (e.g. YOLOX-Pose with
    :class:`~mmpose_rle.models.YOLOXPoseRLEHead`) finds in each image.

    The model runs through MMPose's :func:`~mmpose.apis.inference_bottomup`, which maps
    its boxes to image pixels; the model's own score threshold is set to ``score_thr``
    (its NMS stays), and :func:`ranked_boxes` keeps the boxes above it.

    Args:
        config (str | Config): A bottom-up config (``BottomupPoseEstimator``).
        checkpoint (str, optional): Its weights; random when ``None``.
        score_thr (float): Instances need a score above it.
        max_boxes (int, optional): Keep at most this many per image (the best), e.g. the
            number of animals when it is known.
        device (str): Where the model runs.

    Returns:
        BoxSource: ``image -> (N, 5)`` boxes ``(x1, y1, x2, y2, score)``, image pixels,
        best first; images may be paths or BGR arrays (video frames).

    Raises:
        ValueError: If the config is not a bottom-up model.
    """
    options = dict(model=dict(test_cfg=dict(score_thr=score_thr)))
    model = init_model(config, checkpoint, device=device, cfg_options=options)
    if not isinstance(model, BottomupPoseEstimator):
        raise ValueError(f'a one-stage box source needs a bottom-up model, got {type(model)}')

    def source(image: Union[str, np.ndarray]) -> np.ndarray:
        (sample,) = inference_bottomup(model, image)
        instances = sample.pred_instances
        return ranked_boxes(
            instances.bboxes,
            instances.bbox_scores,
            sample.metainfo.get('ori_shape', (np.inf, np.inf)),
            score_thr,
            max_boxes,
        )

    return source


def coco_detections(
    source: BoxSource, ann_file: str, img_prefix: str = '', category_id: int = 1
) -> List[dict]:
    """A box source's boxes for every image of a COCO file, as COCO detection results.

    The result is what MMDetection writes and what MMPose's ``bbox_file`` and
    :class:`~mmpose_rle.datasets.DetectedBox` read, so a top-down model can be tested with
    the boxes of a one-stage model (:func:`one_stage_box_source`) or any other source.

    Args:
        source (BoxSource): ``path -> (N, 4)`` or ``(N, 5)`` boxes ``(x1, y1, x2, y2[,
            score])``, image pixels; a box without a score gets 1.
        ann_file (str): The COCO file whose ``images`` to run over.
        img_prefix (str): Directory the images' ``file_name`` is relative to.
        category_id (int): Category of every detection. Default: 1.

    Returns:
        list[dict]: ``{'image_id', 'category_id', 'bbox': [x, y, w, h], 'score'}`` per box.
    """
    detections = []
    for image in mmengine.load(ann_file).get('images', []):
        boxes = np.asarray(source(os.path.join(img_prefix, image['file_name'])), np.float64)
        for row in boxes.reshape(len(boxes), -1):
            x1, y1, x2, y2 = (float(v) for v in row[:4])
            detections.append(
                dict(
                    image_id=image['id'],
                    category_id=category_id,
                    bbox=[x1, y1, x2 - x1, y2 - y1],
                    score=float(row[4]) if len(row) > 4 else 1.0,
                )
            )
    return detections
