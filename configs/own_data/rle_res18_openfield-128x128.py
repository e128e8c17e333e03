# Train RLE on your own COCO-style keypoint data set. This example uses openfield (DeepLabCut
# mouse frames, 4 keypoints); for your data change `data_root`, the annotation files and
# `metainfo` (keypoint names, left/right `swap` partners, OKS sigmas for COCO AP), and
# `num_joints`. Set OPENFIELD_ROOT (or edit data_root) to point at the data.
# Setup of ../shared/notes/accuracy.md: ResNet-18 from scratch, 128x128, Adam 1e-3, batch 16,
# flip + rotation +-30 deg + scale 0.8-1.2, flip test; 120 epochs with drops at 90 and 110,
# because RLE converges more slowly than heatmaps.
_base_ = ['mmpose::_base_/default_runtime.py']
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

data_root = '{{$OPENFIELD_ROOT:../shared/data/openfield}}/'
max_epochs = 120
metainfo = dict(
    dataset_name='openfield',
    keypoint_info={
        0: dict(name='snout', id=0, color=[255, 128, 0], type='upper', swap=''),
        1: dict(name='leftear', id=1, color=[0, 255, 0], type='upper', swap='rightear'),
        2: dict(name='rightear', id=2, color=[0, 128, 255], type='upper', swap='leftear'),
        3: dict(name='tailbase', id=3, color=[255, 0, 255], type='lower', swap=''),
    },
    skeleton_info={
        0: dict(link=('snout', 'leftear'), id=0, color=[0, 255, 0]),
        1: dict(link=('snout', 'rightear'), id=1, color=[0, 128, 255]),
        2: dict(link=('snout', 'tailbase'), id=2, color=[255, 0, 255]),
    },
    joint_weights=[1.0, 1.0, 1.0, 1.0],
    # OKS sigmas for COCO AP; openfield has none, these are a loose guess, not a standard.
    sigmas=[0.05, 0.05, 0.05, 0.08],
)

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[90, 110], gamma=0.1
    ),
]

codec = dict(type='RegressionLabel', input_size=(128, 128))
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
    ),
    backbone=dict(type='ResNet', depth=18),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='mmpose_rle.RLEHead',
        in_channels=512,
        num_joints=4,
        loss=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder=codec,
    ),
    test_cfg=dict(flip_test=True, shift_coords=True),
)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30, scale_factor=(0.8, 1.2)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
# Top-level data_mode and dataset_type, as MMPose's configs, for MMPoseInferencer; the
# generic COCO-style data set has no default detector there, so it predicts on whole images
# (or on the boxes you give it).
data_mode = 'topdown'
dataset_type = 'BaseCocoStyleDataset'
dataset_base = dict(
    type=dataset_type,
    data_root=data_root,
    data_mode=data_mode,
    metainfo=metainfo,
    data_prefix=dict(img='images/'),
)
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    # An epoch draws every image ceil(80 / N) times, so that it has at least 80 samples: on
    # a few dozen images the schedule keeps the steps it has on ~100 (with 60 epochs, 23
    # images would otherwise get 120 steps and stop far from converged). Unchanged for 80+.
    sampler=dict(type='mmpose_rle.RepeatSampler', min_samples=80, shuffle=True),
    dataset=dict(dataset_base, ann_file='train.json', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(dataset_base, ann_file='val.json', test_mode=True, pipeline=val_pipeline),
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='PCKAccuracy', thr=0.05),
    dict(type='AUC'),
    dict(type='EPE'),
    dict(type='CocoMetric', ann_file=data_root + 'val.json'),
]
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=1, save_best='PCK', rule='greater'
    )
)
