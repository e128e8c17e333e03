"""Inference, drawing with σ, ONNX export and conversion of official checkpoints."""

from .convert_official import convert_official_state_dict
from .inference import PoseResult, inference_rle, init_rle_model, sigmas_in_image
from .onnx_export import export_onnx, verify_onnx
from .visualization import draw_pose_with_sigmas, draw_sigma_ellipses

__all__ = [
    'PoseResult',
    'inference_rle',
    'init_rle_model',
    'sigmas_in_image',
    'draw_pose_with_sigmas',
    'draw_sigma_ellipses',
    'export_onnx',
    'verify_onnx',
    'convert_official_state_dict',
]
