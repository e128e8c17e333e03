# Quick start, temporal 3-D lifting baseline: MMPose's 27-frame VideoPose3D config (TCN with
# strided 3x3x3 temporal kernels, VideoPoseLifting codec) on the procedural skeletons, with
# MMPose's TemporalRegressionHead with MSELoss (the loss of MMPose's SimpleBaseline3D config;
# this base config uses MPJPELoss). Changed from MMPose's config for a CPU as in
# tcn-1frm_mse_synthetic3d.py (256 channels, 15 epochs, batch 64, three MPJPE modes).
_base_ = [
    'mmpose::body_3d_keypoint/video_pose_lift/h36m/video-pose-lift_tcn-27frm-supv_8xb128-160e_h36m.py'
]
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)

data_root = '{{$MMPOSE_RLE_LIFTING_ROOT:data/synthetic_lifting}}/'
max_epochs = 15
channels = 256

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
model = dict(
    backbone=dict(stem_channels=channels),
    head=dict(in_channels=channels, loss=dict(_delete_=True, type='MSELoss')),
)
train_dataloader = dict(batch_size=64, num_workers=1, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=256, num_workers=1, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='MPJPE', mode='mpjpe'),
    dict(type='MPJPE', mode='p-mpjpe'),
    dict(type='MPJPE', mode='n-mpjpe'),
]
test_evaluator = val_evaluator
default_hooks = dict(
    logger=dict(interval=40),
    checkpoint=dict(_delete_=True, type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1),
)
