# One-stage baseline on the procedural crowds (mmpose_rle.datasets.synthetic_crowds): MMPose's
# YOLOXPoseHead with its own losses, a small CSPDarknet from scratch at 192x192, on the CPU.
# yoloxpose-rle_tiny_crowds-192.py swaps in the RLE head; `python tools/quickstart.py
# --one-stage` generates the data and trains that one (add `--config` with this file for the
# baseline). Set MMPOSE_RLE_CROWDS_ROOT to use a data set
# elsewhere. Model and losses follow MMPose's configs/body_2d_keypoint/yoloxpose/coco.
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

data_root = '{{$MMPOSE_RLE_CROWDS_ROOT:data/synthetic_crowds}}/'
metainfo = dict(from_file=data_root + 'metainfo.py')
input_size = (192, 192)
max_epochs = 40

train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=10.0, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', eta_min=1e-4, begin=0, T_max=max_epochs, by_epoch=True),
]

widen_factor = 0.25
deepen_factor = 0.33
model = dict(
    type='BottomupPoseEstimator',
    init_cfg=dict(
        type='Kaiming',
        layer='Conv2d',
        a=2.23606797749979,
        distribution='uniform',
        mode='fan_in',
        nonlinearity='leaky_relu',
    ),
    data_preprocessor=dict(
        type='PoseDataPreprocessor', pad_size_divisor=32, mean=[0, 0, 0], std=[1, 1, 1]
    ),
    backbone=dict(
        type='CSPDarknet',
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        out_indices=(2, 3, 4),
        spp_kernal_sizes=(5, 9, 13),
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='Swish'),
    ),
    neck=dict(
        type='YOLOXPAFPN',
        in_channels=[64, 128, 256],
        out_channels=64,
        num_csp_blocks=1,
        use_depthwise=False,
        upsample_cfg=dict(scale_factor=2, mode='nearest'),
        norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
        act_cfg=dict(type='Swish'),
    ),
    head=dict(
        type='YOLOXPoseHead',
        num_keypoints=11,
        featmap_strides=(8, 16, 32),
        head_module_cfg=dict(
            num_classes=1,
            in_channels=64,
            feat_channels=64,
            widen_factor=1.0,
            stacked_convs=2,
            norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
            act_cfg=dict(type='Swish'),
        ),
        prior_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        assigner=dict(
            type='SimOTAAssigner',
            dynamic_k_indicator='oks',
            oks_calculator=dict(type='PoseOKS', metainfo=data_root + 'metainfo.py'),
        ),
        overlaps_power=0.5,
        loss_cls=dict(type='BCELoss', reduction='sum', loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum', loss_weight=5.0),
        loss_obj=dict(type='BCELoss', use_target_weight=True, reduction='sum', loss_weight=1.0),
        loss_oks=dict(
            type='OKSLoss',
            reduction='none',
            metainfo=data_root + 'metainfo.py',
            norm_target_weight=True,
            loss_weight=30.0,
        ),
        loss_vis=dict(type='BCELoss', use_target_weight=True, reduction='mean', loss_weight=1.0),
        loss_bbox_aux=dict(type='L1Loss', reduction='sum', loss_weight=1.0),
    ),
    test_cfg=dict(score_thr=0.01, nms_thr=0.65),
)

codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='BottomupRandomAffine',
        input_size=input_size,
        shift_factor=0.1,
        rotate_factor=10,
        scale_factor=(0.75, 1.25),
        pad_val=114,
        distribution='uniform',
        transform_mode='perspective',
        bbox_keep_corner=False,
        clip_border=True,
    ),
    dict(type='YOLOXHSVRandomAug'),
    dict(type='RandomFlip'),
    dict(type='FilterAnnotations', by_kpt=True, by_box=True, keep_empty=False),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='BottomupResize', input_size=input_size, pad_val=(114, 114, 114)),
    dict(
        type='PackPoseInputs',
        meta_keys=(
            'id',
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'input_size',
            'input_center',
            'input_scale',
        ),
    ),
]
# Top-level data_mode and dataset_type, as MMPose's configs, for MMPoseInferencer: a one-stage
# model needs no boxes.
data_mode = 'bottomup'
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
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset_base, ann_file='train.json', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(dataset_base, ann_file='val.json', test_mode=True, pipeline=val_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'val.json', score_mode='bbox', nms_mode='none'
)
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=1, save_best='coco/AP', rule='greater'
    )
)
