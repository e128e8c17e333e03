r"""MMPose's RTMO predicting with its regression branch instead of its coordinate classifier.

MMPose's ``RTMOHead`` has two keypoint estimators on the same positive priors:

* the **regression branch** (``YOLOXPoseHead``'s): offsets per prior, decoded as
  ``μ̂ = prior + stride · offset``, trained with the OKS loss (after ``RTMOModeSwitchHook``'s
  switch, ``proxy_target_cc``, toward the classifier's predictions where those are closer to
  the label); used in training for the target assignment;
* the **dynamic coordinate classifier** (DCC): 1-D heatmaps over bins spanning the predicted
  box, decoded by their expectation; what ``RTMOHead.predict`` returns.

An RLE term on the regression branch would learn σ of the regression branch's errors, while
the model's predictions are the classifier's. :class:`RTMORegressionHead` has
``RTMOHead``'s layers and weights (an ``RTMOHead`` checkpoint loads into it as it is) and the
same box scores, boxes and selection (:func:`~mmpose_rle.models.utils.select_priors`), but
predicts each kept prior's keypoints with the regression branch, so that the errors of the
two estimators can be compared instance by instance
(:mod:`mmpose_rle.benchmark.rtmo_branches`).

MMPose's ``RTMOHeadModule`` computes the offsets only while its own ``training`` flag is set;
:meth:`RTMORegressionHead.predict` sets that flag alone for the forward pass, so the
module's layers (batch norm included) stay in evaluation mode and no running statistic moves.
"""

from contextlib import contextmanager
from typing import Iterator

from mmengine.structures import InstanceData
from mmpose.models.heads.hybrid_heads.rtmo_head import RTMOHead
from mmpose.utils.typing import ConfigType, Features, OptSampleList, Predictions
from torch import nn

from mmpose_rle.registry import MODELS

from ..utils.prior_selection import select_priors
from .rtmo_priors import RTMOPriorsMixin

__all__ = ['RTMORegressionHead', 'offsets_computed']


@contextmanager
def offsets_computed(module: nn.Module) -> Iterator[nn.Module]:
    """Set ``module.training`` alone (not its children's) while the block runs: MMPose's
    ``RTMOHeadModule`` then returns its keypoint offsets, and its layers keep their mode."""
    was = module.training
    module.training = True
    try:
        yield module
    finally:
        module.training = was


@MODELS.register_module()
class RTMORegressionHead(RTMOPriorsMixin, RTMOHead):
    """``RTMOHead`` whose predictions take their keypoints from the regression branch
    (module docstring); arguments are ``RTMOHead``'s."""

    def predict(
        self, feats: Features, batch_data_samples: OptSampleList, test_cfg: ConfigType = {}
    ) -> Predictions:
        """One ``InstanceData`` per image, as ``RTMOHead.predict``'s (same instances, scores,
        boxes and visibility; input pixels) with ``keypoints`` ``(n, K, 2)`` the kept priors'
        regression-branch ``μ̂``."""
        with offsets_computed(self.head_module):
            cls_maps, bbox_maps, offset_maps, vis_maps, _ = self.forward(feats)
        priors, scores, bboxes = self.decoded_priors(cls_maps, bbox_maps)
        flat = self._flatten_predictions
        keypoints = self.decode_kpt_reg(flat(offset_maps), priors[:, :2], priors[:, -1])
        visibility = flat(vis_maps).sigmoid()
        results = []
        for i, sample in enumerate(batch_data_samples):
            keep, best, labels = select_priors(scores[i], bboxes[i], test_cfg)
            width, height = sample.metainfo['input_size']
            boxes = bboxes[i, keep].clone()
            boxes[:, 0::2].clamp_(0, width)
            boxes[:, 1::2].clamp_(0, height)
            results.append(
                InstanceData(
                    scores=best,
                    labels=labels,
                    bboxes=boxes,
                    bbox_scores=best,
                    keypoints=keypoints[i, keep],
                    keypoint_scores=visibility[i, keep],
                    keypoints_visible=visibility[i, keep],
                ).numpy()
            )
        return results
