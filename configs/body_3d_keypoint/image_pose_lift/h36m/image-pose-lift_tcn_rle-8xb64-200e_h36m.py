# MMPose's single-frame lifting config (SimpleBaseline3D on a TCN with 1x1 kernels, ground-
# truth 2-D input, Human3.6M) with only the head swapped: MMPose's TemporalRegressionHead
# + MSELoss becomes RLE (mmpose_rle.RLELiftingHead + RLELoss with a 3-D RealNVP). Data,
# codec (ImagePoseLifting, root removed, normalised targets), schedule and metrics stay
# MMPose's; predictions carry keypoint_sigmas in millimetres.
#
# Reference figures (not reproduced here: we have no Human3.6M):
#   MMPose's, for its base config (MSE head): MPJPE 43.4 mm, P-MPJPE 34.3 mm.
#   The paper's (Li et al., ICCV 2021), two-stage lifting: the fully-connected baseline
#   goes from 43.6 to 40.9 mm MPJPE when trained with RLE.
# Note: MMPose's Human3.6M positions are in metres, so its MPJPE metric prints metres.
_base_ = ['mmpose::body_3d_keypoint/image_pose_lift/h36m/image-pose-lift_tcn_8xb64-200e_h36m.py']
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)

model = dict(
    head=dict(
        _delete_=True,
        type='mmpose_rle.RLELiftingHead',
        in_channels=_base_.model.head.in_channels,
        num_joints=_base_.model.head.num_joints,
        loss=dict(
            type='mmpose_rle.RLELoss',
            use_target_weight=True,
            flow=dict(type='mmpose_rle.RealNVP', dim=3),
        ),
        decoder=_base_.codec,
    )
)  # noqa: E501
