# The whole-frame openfield baseline (yoloxpose_tiny_openfield-320.py) with the RLE head:
# MMPose's losses plus the RLE term, and keypoint_sigmas (image pixels) in the predictions.
_base_ = ['./yoloxpose_tiny_openfield-320.py']

model = dict(
    head=dict(
        type='mmpose_rle.YOLOXPoseRLEHead',
        loss_rle=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        metainfo=_base_.metainfo_file,
    )
)
