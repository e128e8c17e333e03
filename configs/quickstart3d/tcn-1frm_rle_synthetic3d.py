# Quick start, 3-D lifting with RLE: tcn-1frm_mse_synthetic3d.py (MMPose's single-frame
# VideoPose3D config on the procedural skeletons) with only the head swapped for
# mmpose_rle.RLELiftingHead (RLELoss, 3-D RealNVP). Predictions carry keypoint_sigmas in mm.
_base_ = ['./tcn-1frm_mse_synthetic3d.py']

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
)
