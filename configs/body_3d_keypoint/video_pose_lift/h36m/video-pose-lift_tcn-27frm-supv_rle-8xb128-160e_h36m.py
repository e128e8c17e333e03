# MMPose's 27-frame VideoPose3D config (TCN with 3x3x3 strided temporal kernels, supervised,
# ground-truth 2-D input, Human3.6M) with only the head swapped: MMPose's
# TemporalRegressionHead + MPJPELoss becomes RLE (mmpose_rle.RLELiftingHead + RLELoss with
# a 3-D RealNVP). The codec (VideoPoseLifting) keeps the targets root-relative in metres;
# the head works in units of a 2 m cube (cube_mm) and reports keypoint_sigmas in mm.
#
# Reference figures (not reproduced here: we have no Human3.6M):
#   MMPose's, for its base config (MPJPE-loss head): MPJPE 40.0 mm, P-MPJPE 30.1 mm.
#   The paper's 40.9 mm (43.6 mm without RLE) is for single-frame lifting: see
#   image-pose-lift_tcn_rle-8xb64-200e_h36m.py; we know of no 27-frame figure of the paper.
_base_ = [
    'mmpose::body_3d_keypoint/video_pose_lift/h36m/video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py'
]
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
