"""Data sets: the procedural quick-start data, 2-D images and 3-D skeletons (MMPose's
data sets do the rest), and the crops of a top-down test with no boxes (the whole frame) or
with a detector's boxes."""

from .detected_box import DetectedBox, load_coco_detections
from .synthetic import (
    FLIP_PAIRS,
    KEYPOINTS,
    SIGMAS,
    SKELETON,
    SyntheticFigures,
    generate_synthetic_figures,
)
from .synthetic3d import (
    ANGLE_LIMITS,
    BONES,
    IMAGE_SIZE,
    JOINTS,
    PARENTS,
    SyntheticLifting,
    generate_synthetic_lifting,
    skeleton_poses,
)
from .synthetic_crowds import SyntheticCrowds, generate_synthetic_crowds
from .synthetic_video import FigureVideo, figure_video, write_video
from .whole_frame_box import WholeFrameBox

__all__ = [
    'KEYPOINTS',
    'FLIP_PAIRS',
    'SKELETON',
    'SIGMAS',
    'SyntheticFigures',
    'generate_synthetic_figures',
    'SyntheticCrowds',
    'generate_synthetic_crowds',
    'FigureVideo',
    'figure_video',
    'write_video',
    'JOINTS',
    'PARENTS',
    'BONES',
    'ANGLE_LIMITS',
    'IMAGE_SIZE',
    'SyntheticLifting',
    'skeleton_poses',
    'generate_synthetic_lifting',
    'WholeFrameBox',
    'DetectedBox',
    'load_coco_detections',
]
