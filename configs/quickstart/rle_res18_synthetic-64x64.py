# Quick start: RLE on the procedural stick-figure data set (mmpose_rle.datasets.synthetic),
# ResNet-18 from scratch at 64x64 on the CPU. `python tools/quickstart.py` generates the
# data and runs this config; set MMPOSE_RLE_DATA_ROOT to use a data set elsewhere.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

data_root = '{{$MMPOSE_RLE_DATA_ROOT:data/synthetic_figures}}/'
max_epochs = 30

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.01, by_epoch=False),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[int(max_epochs * 0.7), int(max_epochs * 0.9)],
        gamma=0.1,
    ),
]

codec = dict(type='RegressionLabel', input_size=(64, 64))
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
        num_joints=11,
        loss=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder=codec,
    ),
    test_cfg=dict(flip_test=True, shift_coords=True),
)

# Top-level data_mode and dataset_type, as MMPose's configs, for MMPoseInferencer; the
# generic COCO-style data set has no default detector there, so it predicts on whole images.
data_mode = 'topdown'
dataset_type = 'BaseCocoStyleDataset'
metainfo = dict(from_file=data_root + 'metainfo.py')
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
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=metainfo,
        ann_file='train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        metainfo=metainfo,
        ann_file='val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ),
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
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1),
)
