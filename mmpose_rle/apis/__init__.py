"""Inference and drawing with σ (uncertainty) per keypoint."""
from .inference import PoseResult, inference_rle, init_rle_model, sigmas_in_image
from .visualization import draw_pose_with_sigmas, draw_sigma_ellipses

__all__ = ['PoseResult', 'inference_rle', 'init_rle_model', 'sigmas_in_image',
           'draw_pose_with_sigmas', 'draw_sigma_ellipses']
