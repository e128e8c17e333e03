"""Drawing predictions with σ: the visualizer of MMPose's doors, and the ellipse primitive."""

from .ellipses import draw_sigma_ellipses
from .sigma_visualizer import SigmaPoseLocalVisualizer

__all__ = ['SigmaPoseLocalVisualizer', 'draw_sigma_ellipses']
