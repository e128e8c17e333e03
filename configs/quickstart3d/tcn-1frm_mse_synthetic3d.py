# Quick start, 3-D lifting baseline: MMPose's single-frame VideoPose3D config (TCN with 1x1
# kernels, VideoPoseLifting codec: root-relative targets in metres) on the procedural
# skeletons of mmpose_rle.datasets.synthetic3d, with MMPose's TemporalRegressionHead and
# MSELoss (the loss of MMPose's SimpleBaseline3D config). `python tools/quickstart3d.py`
# generates the data and trains this config against tcn-1frm_rle_synthetic3d.py; set
# MMPOSE_RLE_LIFTING_ROOT to the data root to train it with mmpose_rle.cli.train.
# Changed from MMPose's config for a CPU: the 2-D input is the data set's own (noisy, with
# gross outliers: keypoint_2d_src='gt' reads it), a narrower TCN (256 channels), 15 epochs,
# lr 1e-3, batch 64, MPJPE, P-MPJPE and N-MPJPE as metrics, and MSELoss in place of this
# base config's MPJPELoss (MSE is the loss of MMPose's SimpleBaseline3D config,
# image-pose-lift_tcn_8xb64-200e_h36m.py, the RLE paper's two-stage baseline).
_base_ = [
    'mmpose::body_3d_keypoint/video_pose_lift/h36m/video-pose-lift_tcn-1frm-supv-cpn-ft_8xb128-160e_h36m.py'
]
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)

data_root = '{{$MMPOSE_RLE_LIFTING_ROOT:data/synthetic_lifting}}/'
max_epochs = 15
channels = 256

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
model = dict(
    backbone=dict(stem_channels=channels),
    head=dict(in_channels=channels, loss=dict(_delete_=True, type='MSELoss')),
)
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    dataset=dict(data_root=data_root, keypoint_2d_src='gt', keypoint_2d_det_file=None),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=1,
    dataset=dict(data_root=data_root, keypoint_2d_src='gt', keypoint_2d_det_file=None),
)
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
