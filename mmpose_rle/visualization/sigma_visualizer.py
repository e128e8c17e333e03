"""``SigmaPoseLocalVisualizer``: MMPose's pose drawing plus σ ellipses.

Set it as a config's ``visualizer`` and every door of MMPose that draws predictions —
``PoseVisualizationHook`` (``tools/test.py --show-dir``), ``MMPoseInferencer``'s
``vis_out_dir``, ``demo/topdown_demo_with_mmdet.py`` — draws each predicted keypoint's
σ as well::

    visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer', sigma_scale=2.0)
"""

from typing import Optional

import numpy as np
from mmengine.structures import InstanceData
from mmpose.visualization import PoseLocalVisualizer

from mmpose_rle.registry import VISUALIZERS

from .ellipses import draw_sigma_ellipses

__all__ = ['SigmaPoseLocalVisualizer']


@VISUALIZERS.register_module()
class SigmaPoseLocalVisualizer(PoseLocalVisualizer):
    """:class:`~mmpose.visualization.PoseLocalVisualizer` that adds σ ellipses.

    After MMPose draws the skeleton and keypoints of an instance set, every keypoint
    that MMPose drew (``keypoints_visible ≥ kpt_thr``; for predictions that is the score)
    gets an axis-aligned ellipse of semi-axes ``sigma_scale · (σx, σy)`` in its
    keypoint colour, ``σ`` the instance field ``keypoint_sigmas_image`` (image pixels,
    set by the heads of :mod:`mmpose_rle`). Instances without it (ground truth, other
    heads) are drawn exactly as MMPose draws them.

    Args:
        name (str): The instance name (MMEngine's visualizers are named singletons).
        sigma_scale (float): Semi-axes in units of σ. Default: 1.0.
        sigma_thickness (int, optional): Ellipse line width; MMPose's ``line_width``
            when ``None``.
        **kwargs: :class:`~mmpose.visualization.PoseLocalVisualizer`'s arguments.
    """

    def __init__(
        self,
        name: str = 'visualizer',
        sigma_scale: float = 1.0,
        sigma_thickness: Optional[int] = None,
        **kwargs,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if not sigma_scale > 0:
            raise ValueError(f'sigma_scale must be positive, got {sigma_scale}')
        self.sigma_scale = float(sigma_scale)
        self.sigma_thickness = sigma_thickness

    def _draw_instances_kpts(
        self,
        image: np.ndarray,
        instances: InstanceData,
        kpt_thr: float = 0.3,
        show_kpt_idx: bool = False,
        skeleton_style: str = 'mmpose',
    ) -> np.ndarray:
        """MMPose's drawing of the instances, then one σ ellipse per drawn keypoint."""
        drawn = super()._draw_instances_kpts(
            image, instances, kpt_thr, show_kpt_idx, skeleton_style
        )
        if 'keypoint_sigmas_image' not in instances or 'keypoints' not in instances:
            return drawn
        keypoints = np.asarray(instances.keypoints, dtype=np.float32)[..., :2]
        visible = np.asarray(
            instances.get('keypoints_visible', np.ones(keypoints.shape[:-1])), dtype=np.float32
        ).reshape(keypoints.shape[:-1])
        keep = visible >= kpt_thr
        colours = self._keypoint_colours(keypoints.shape[1])
        thickness = self.sigma_thickness or max(1, int(self.line_width))
        drawn = draw_sigma_ellipses(
            drawn,
            keypoints[keep],
            np.asarray(instances.keypoint_sigmas_image, np.float32)[keep],
            scale=self.sigma_scale,
            color=np.broadcast_to(colours, keypoints.shape[:2] + (3,))[keep],
            thickness=thickness,
        )
        self.set_image(drawn)
        return self.get_image()

    def _keypoint_colours(self, num_keypoints: int) -> np.ndarray:
        """``(K, 3)`` the keypoint colours of the data set, white where it gives none."""
        colours = self.kpt_color
        if colours is None or isinstance(colours, str) or len(colours) != num_keypoints:
            return np.full((num_keypoints, 3), 255, dtype=np.int64)
        return np.asarray(colours, dtype=np.int64).reshape(num_keypoints, 3)
