# The RTMO crowds config (rtmo_tiny_crowds-192.py) with MMPose's RTMOHead swapped for
# mmpose_rle.RTMORLEHead: the same layers plus a sigma branch on the pose vectors, MMPose's
# losses plus the RLE term on the regression branch at the assigned priors, and keypoint_sigmas
# beside the DCC's keypoints in the predictions. The same lines swap the head of any RTMO config
# (docs/one_stage.md, "RTMO"). The RLE term at a quarter weight: at full weight it cost AP on the
# crowds, at a quarter it did not, with sigma ranking the errors nearly as well.
_base_ = ['./rtmo_tiny_crowds-192.py']

model = dict(
    head=dict(
        type='mmpose_rle.RTMORLEHead',
        loss_rle=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        loss_rle_weight=0.25,
        metainfo=_base_.data_root + 'metainfo.py',
    )
)
