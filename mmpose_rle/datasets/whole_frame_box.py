"""A top-down test pipeline with no boxes: every instance's crop is the whole frame."""

from typing import Dict

import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.structures.bbox import bbox_xyxy2cs

from mmpose_rle.registry import TRANSFORMS

__all__ = ['WholeFrameBox']


@TRANSFORMS.register_module()
class WholeFrameBox(BaseTransform):
    """Crop every instance from the whole frame, as a top-down model runs with no box source.

    Takes the place of MMPose's ``GetBBoxCenterScale`` in a test pipeline. The crop of every
    instance is the frame's box ``[0, 0, w, h]``, turned into a centre and scale exactly as
    ``GetBBoxCenterScale`` turns a box (``bbox_xyxy2cs`` with the same ``padding``), which is
    what MMPose's ``inference_topdown`` does when it is given no boxes. The instance's own
    ``bbox`` is left as it is, so metrics normalised by the ground-truth box (PCK, COCO's OKS)
    keep their meaning. It takes ``GetBBoxCenterScale``'s arguments, so on the command line
    (``--cfg-options``) its type alone swaps it in::

        val_dataloader.dataset.pipeline.1.type=mmpose_rle.WholeFrameBox

    Required keys: ``img_shape`` (``(h, w)``), ``bbox`` (``(N, 4)``). Added keys:
    ``bbox_center`` (``(N, 2)``: ``(w / 2, h / 2)``) and ``bbox_scale`` (``(N, 2)``:
    ``padding · (w, h)``).

    Args:
        padding (float): The scale factor of the frame's box, as in ``GetBBoxCenterScale``.
            Default: 1.25.
    """

    def __init__(self, padding: float = 1.25) -> None:
        super().__init__()
        if padding <= 0:
            raise ValueError(f'WholeFrameBox: padding must be positive, got {padding}')
        self.padding = padding

    def transform(self, results: Dict) -> Dict:
        """Set ``bbox_center`` and ``bbox_scale`` of every instance to the frame's."""
        if 'img_shape' not in results or 'bbox' not in results:
            raise KeyError('WholeFrameBox needs "img_shape" (load the image first) and "bbox"')
        h, w = results['img_shape'][:2]
        frame = np.array([[0, 0, w, h]], dtype=np.float32)
        center, scale = bbox_xyxy2cs(frame, padding=self.padding)
        count = len(results['bbox'])
        results['bbox_center'] = np.repeat(center.reshape(1, 2), count, axis=0)
        results['bbox_scale'] = np.repeat(scale.reshape(1, 2), count, axis=0)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(padding={self.padding})'
