r"""ONNX graph of a one-stage RLE model (YOLOX-Pose with σ), and its post-processing.

The graph maps a batch of **raw pixel images** at the model's input size to every prior's
outputs, *before* selection (``N`` priors over all levels, ``K`` keypoints)::

    images  (B, 3, H, W) float32, 0–255, channel order of MMPose's ``LoadImage`` after
            ``BottomupResize`` (the test pipeline's letterboxed input)
      → x = (flip_channels(images) − mean) / std       (the data preprocessor, in the graph)
      → head.prior_outputs(neck(backbone(x)))          YOLOXPoseRLEHead's decoded priors
    scores           (B, N)       max_c class × objectness          (best class)
    labels           (B, N)       argmax_c, int64                   (0 with one class)
    bboxes           (B, N, 4)    xyxy clamped to [0, W] × [0, H]   input pixels
    keypoints        (B, N, K, 2) c + s f_φ(u) (μ̂ outside 'basic')  input pixels
    keypoint_scores  (B, N, K)    the head's keypoint_score          visibility, 1 − mean σ̂
                                                                       or their product
    keypoint_sigmas  (B, N, K, 2) s · cal(RMS(u)), u = (μ̂ − c) / s  input pixels
    bboxes_unclamped (B, N, 4)    the decoded boxes, not clamped    input pixels (for NMS)

with ``c`` and ``s`` the centre and size of the clamped box (``√(w h)``, or the prior's
stride with ``residual_unit='stride'``), ``RMS`` the RLE predictive RMS error of ``σ̂`` and
``cal`` the head's **single-view** σ calibration map (no flip test in the graph): the
head's ``clamp_boxes`` and ``keypoint_sigmas``, the same steps as its ``predict``.

**No selection in the graph.** Thresholding and NMS have data-dependent output sizes, so
they run outside: :func:`select_instances` reproduces ``YOLOXPoseRLEHead.select`` (MMPose's
selection) in numpy, per image:

1. keep the priors with ``scores > score_thr``;
2. sort them by descending score and keep the first ``nms_pre``;
3. unless ``nms_thr >= 1``: greedy NMS (:func:`nms`) on ``bboxes_unclamped`` (MMPose
   compares the boxes before clamping): repeatedly keep the best remaining prior and drop
   those whose IoU with it exceeds ``nms_thr``, with
   ``IoU = overlap / max(union, 1e-6)`` and areas ``(x2 − x1)(y2 − y1)``.

The kept instances' outputs equal ``model.predict``'s (in input pixels; MMPose's pose
estimator then maps keypoints and boxes to the image with the letterbox's centre and scale,
``x_image = x / input_size · input_scale + input_center − input_scale / 2``, and σ by the
same scale). The model's ``test_cfg`` (``score_thr``, ``nms_thr``, ``nms_pre``) is in the
file's metadata as JSON (``test_cfg``).

The input size is the test pipeline's ``BottomupResize(input_size=...)``, else the config's
``codec.input_size`` (``model.cfg``, which :func:`~mmpose_rle.apis.onnx_export.build_model`
keeps); it must be a multiple of the data preprocessor's ``pad_size_divisor``. The batch
axis is dynamic.

Use of an exported file (``images`` ``(B, 3, H, W)`` raw pixels)::

    meta = {p.key: p.value for p in onnx.load('yoloxpose-rle.onnx').metadata_props}
    outputs = run_onnx('yoloxpose-rle.onnx', images)  # mmpose_rle.apis.onnx_export
    instances = select_instances(outputs, **json.loads(meta['test_cfg']))
    instances[0]['keypoint_sigmas']  # (n, K, 2), input pixels

Example (the selection alone: a score below the threshold, and a box that overlaps a
better one with IoU 0.81):
    >>> boxes = np.float32([[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30], [0, 0, 5, 5]]])
    >>> outputs = dict(scores=np.float32([[0.9, 0.8, 0.3, 0.005]]), bboxes=boxes,
    ...                labels=np.zeros((1, 4), np.int64), keypoints=np.zeros((1, 4, 3, 2)),
    ...                keypoint_scores=np.ones((1, 4, 3)), keypoint_sigmas=np.ones((1, 4, 3, 2)))
    >>> [inst['indices'].tolist() for inst in select_instances(outputs, nms_thr=0.65)]
    [[0, 2]]
"""

import json
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmpose.structures import PoseDataSample
from torch import Tensor, nn

from mmpose_rle.models.heads import YOLOXPoseRLEHead

from .onnx_export import RawPixelsGraph, is_one_stage, sigma_metadata

__all__ = [
    'ONE_STAGE_OUTPUT_NAMES',
    'INSTANCE_FIELDS',
    'OneStageInferenceGraph',
    'one_stage_input_size',
    'graph_outputs',
    'reference_prior_outputs',
    'selection_cfg',
    'box_iou',
    'nms',
    'select_instances',
]

ONE_STAGE_OUTPUT_NAMES = (
    'scores',
    'labels',
    'bboxes',
    'keypoints',
    'keypoint_scores',
    'keypoint_sigmas',
    'bboxes_unclamped',
)
#: Per-instance fields of :func:`select_instances` (besides ``indices``).
INSTANCE_FIELDS = ONE_STAGE_OUTPUT_NAMES[:-1]
#: ``YOLOXPoseRLEHead.select``'s defaults of the selection (MMPose's).
_SELECTION_DEFAULTS = dict(score_thr=0.01, nms_thr=1.0, nms_pre=100000)


def one_stage_input_size(model: nn.Module) -> Tuple[int, int]:
    """``(W, H)`` of a one-stage model's input (module docstring), with clear errors."""
    if not is_one_stage(model):
        raise TypeError(
            'the one-stage ONNX graph needs a BottomupPoseEstimator with '
            f'mmpose_rle.YOLOXPoseRLEHead, got a head of type {type(model.head).__name__}'
        )
    cfg = getattr(model, 'cfg', None)
    size = None
    for loader in ('test_dataloader', 'val_dataloader'):
        pipeline = (((cfg or {}).get(loader) or {}).get('dataset') or {}).get('pipeline') or []
        size = size or next((t['input_size'] for t in pipeline if 'input_size' in t), None)
    size = size or ((cfg or {}).get('codec') or {}).get('input_size')
    if size is None:
        raise ValueError(
            'the one-stage ONNX graph needs the input size: a BottomupResize(input_size=...) '
            "in the config's test pipeline or codec.input_size, in model.cfg (build the "
            'model with build_model or set model.cfg)'
        )
    w, h = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    divisor = int(getattr(model.data_preprocessor, 'pad_size_divisor', 1))
    if w % divisor or h % divisor:
        raise ValueError(
            f"input size {w}x{h} is not a multiple of the data preprocessor's "
            f'pad_size_divisor {divisor}: MMPose would pad it, the graph does not'
        )
    return w, h


def graph_outputs(
    head: YOLOXPoseRLEHead, feats: Sequence[Tensor], input_size: Tuple[int, int]
) -> Tuple[Tensor, ...]:
    """The graph's outputs (:data:`ONE_STAGE_OUTPUT_NAMES`, module docstring) from the
    neck's features, through the head's public steps."""
    out = head.prior_outputs(feats)
    scores, labels = out.scores.max(dim=-1)
    bboxes = head.clamp_boxes(out.bboxes, input_size)
    keypoints, sigmas = head.keypoint_sigmas(bboxes, out.keypoints, out.sigma, out.strides)
    point_scores = head.keypoint_scores(out.visibility, out.sigma)
    return scores, labels, bboxes, keypoints, point_scores, sigmas, out.bboxes


def selection_cfg(model: nn.Module) -> Dict[str, float]:
    """``score_thr``, ``nms_thr`` and ``nms_pre`` of the model's ``test_cfg`` (the
    head's defaults where it has none): the arguments of :func:`select_instances`."""
    test_cfg = getattr(model, 'test_cfg', None) or {}
    return {key: test_cfg.get(key, default) for key, default in _SELECTION_DEFAULTS.items()}


class OneStageInferenceGraph(RawPixelsGraph):
    """Raw pixels → every prior's outputs of a one-stage RLE model, for export.

    Args:
        model (nn.Module): A ``BottomupPoseEstimator`` with
            :class:`~mmpose_rle.models.heads.YOLOXPoseRLEHead` and ``cfg`` (for the input
            size, :func:`one_stage_input_size`); its ``data_preprocessor`` is folded in.

    Shapes:
        ``images (B, 3, H, W)`` → the outputs of :data:`ONE_STAGE_OUTPUT_NAMES` (module
        docstring), ``N`` priors per image.
    """

    output_names = ONE_STAGE_OUTPUT_NAMES

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model, one_stage_input_size(model))

    def forward(self, images: Tensor) -> Tuple[Tensor, ...]:
        """Every prior's outputs of raw 0–255 ``images`` (module docstring)."""
        feats = self.model.extract_feat(self.normalise(images))
        return graph_outputs(self.model.head, feats, self.input_size)

    def metadata(self) -> Dict[str, str]:
        """Key/value metadata written into the ONNX file."""
        head = self.model.head
        meta = self.input_metadata()
        meta['outputs'] = (
            'per prior, before selection: scores (B,N) best class x objectness; labels (B,N); '
            'bboxes (B,N,4) xyxy clamped, input pixels; keypoints (B,N,K,2) input pixels; '
            f'keypoint_scores (B,N,K) ({head.keypoint_score}); keypoint_sigmas (B,N,K,2) '
            'predictive RMS error, input pixels; bboxes_unclamped (B,N,4) for NMS'
        )
        meta['postprocess'] = (
            'scores > score_thr, top nms_pre by score, greedy IoU NMS on bboxes_unclamped '
            'at nms_thr (none at 1): mmpose_rle.apis.onnx_one_stage.select_instances'
        )
        meta['test_cfg'] = json.dumps(selection_cfg(self.model))
        meta['num_keypoints'] = str(head.num_keypoints)
        meta['residual_unit'] = head.residual_unit
        meta['keypoint_score'] = head.keypoint_score
        meta.update(sigma_metadata(self.model))
        return meta


def reference_prior_outputs(model: nn.Module, images: Tensor) -> Dict[str, np.ndarray]:
    """PyTorch outputs of the graph, with MMPose's ``PoseDataPreprocessor`` instead of the
    folded preprocessing (not through :class:`OneStageInferenceGraph`).

    Args:
        model (nn.Module): One-stage model in eval mode.
        images (Tensor): ``(B, 3, H, W)`` raw 0–255 images at the input size, in the
            loader's channel order.

    Returns:
        dict[str, np.ndarray]: The outputs of :data:`ONE_STAGE_OUTPUT_NAMES`.
    """
    w, h = one_stage_input_size(model)
    if tuple(images.shape[1:]) != (3, h, w):
        raise ValueError(f'images must be (B, 3, {h}, {w}), got {tuple(images.shape)}')
    samples = [PoseDataSample(metainfo=dict(input_size=(w, h))) for _ in range(len(images))]
    with torch.no_grad():
        data = dict(inputs=list(images.float()), data_samples=samples)
        inputs = model.data_preprocessor(data, False)['inputs']
        outs = graph_outputs(model.head, model.extract_feat(inputs), (w, h))
    return {name: t.cpu().numpy() for name, t in zip(ONE_STAGE_OUTPUT_NAMES, outs)}


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU ``(n,)`` of one xyxy ``box`` ``(4,)`` with ``boxes`` ``(n, 4)``: overlap over
    ``max(union, 1e-6)``, areas ``(x2 − x1)(y2 − y1)`` (MMPose's ``bbox_overlaps``)."""
    low = np.maximum(box[:2], boxes[:, :2])
    high = np.minimum(box[2:], boxes[:, 2:])
    overlap = np.clip(high - low, 0, None).prod(-1)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return overlap / np.maximum(area + areas - overlap, 1e-6)


def nms(bboxes: np.ndarray, scores: np.ndarray, iou_thr: float) -> np.ndarray:
    """Greedy IoU non-maximum suppression.

    Visits the boxes by descending score; keeps the best remaining one and drops every
    remaining box whose :func:`box_iou` with it exceeds ``iou_thr``.

    Args:
        bboxes (np.ndarray): ``(n, 4)`` xyxy boxes.
        scores (np.ndarray): ``(n,)`` scores.
        iou_thr (float): IoU above which a box is suppressed.

    Returns:
        np.ndarray: ``(m,)`` int64 indices into ``bboxes`` of the kept boxes, by
        descending score.
    """
    order = np.argsort(-scores, kind='stable')
    keep = []
    while order.size:
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[~(box_iou(bboxes[best], bboxes[order]) > iou_thr)]
    return np.asarray(keep, dtype=np.int64)


def select_instances(
    outputs: Dict[str, np.ndarray],
    score_thr: float = 0.01,
    nms_thr: float = 1.0,
    nms_pre: int = 100000,
) -> List[Dict[str, np.ndarray]]:
    """The instances of each image from the graph's per-prior outputs: score threshold,
    top-k and greedy NMS, as ``YOLOXPoseRLEHead.select`` (module docstring).

    Args:
        outputs (dict[str, np.ndarray]): The graph's outputs (:func:`run_onnx`'s answer),
            batch first. NMS uses ``bboxes_unclamped`` (``bboxes`` without it).
        score_thr (float): Keep priors scoring above it. Default: 0.01.
        nms_thr (float): NMS IoU threshold; no NMS at 1 or above. Default: 1.
        nms_pre (int): At most this many priors, the best, before NMS. Default: 100000.

    Returns:
        list[dict[str, np.ndarray]]: Per image, :data:`INSTANCE_FIELDS` of the ``n`` kept
        instances (``(n,)``, ``(n,)``, ``(n, 4)``, ``(n, K, 2)``, ``(n, K)``,
        ``(n, K, 2)``) by descending score, and their prior ``indices`` ``(n,)``.
    """
    nms_boxes = outputs.get('bboxes_unclamped', outputs['bboxes'])
    results = []
    for i, scores in enumerate(outputs['scores']):
        idx = np.flatnonzero(scores > score_thr)
        idx = idx[np.argsort(-scores[idx], kind='stable')][: int(nms_pre)]
        if nms_thr < 1.0 and idx.size:
            idx = idx[nms(nms_boxes[i, idx], scores[idx], nms_thr)]
        instance = {name: outputs[name][i, idx] for name in INSTANCE_FIELDS}
        results.append(dict(instance, indices=idx))
    return results
