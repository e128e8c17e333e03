# The one-stage baseline (yoloxpose_tiny_crowds-192.py) with MMPose's YOLOXPoseHead swapped for
# mmpose_rle.YOLOXPoseRLEHead: the same layers plus a sigma branch, MMPose's losses plus the RLE
# term on the assigned priors, and keypoint_sigmas in the predictions. The same three lines
# swap the head of any YOLOX-Pose config (docs/one_stage.md).
_base_ = ['./yoloxpose_tiny_crowds-192.py']

model = dict(
    head=dict(
        type='mmpose_rle.YOLOXPoseRLEHead',
        loss_rle=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        metainfo=_base_.data_root + 'metainfo.py',
    )
)
