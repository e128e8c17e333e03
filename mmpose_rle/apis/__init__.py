"""Inference with σ (MMPose's inferencer and API), smoothing, ONNX and conversion."""

from .boxes import BoxSource, coco_box_source, coco_detections, one_stage_box_source
from .convert_official import convert_official_state_dict
from .inference import PoseResult, inference_rle, init_rle_model
from .inferencer import SigmaPoseInferencer, instance_dicts, smooth_table
from .kalman import kalman_rts, smooth_keypoints
from .onnx_export import export_onnx, verify_onnx
from .onnx_one_stage import select_instances

__all__ = [
    'BoxSource',
    'PoseResult',
    'coco_box_source',
    'coco_detections',
    'one_stage_box_source',
    'SigmaPoseInferencer',
    'inference_rle',
    'init_rle_model',
    'instance_dicts',
    'kalman_rts',
    'smooth_keypoints',
    'smooth_table',
    'export_onnx',
    'verify_onnx',
    'select_instances',
    'convert_official_state_dict',
]
