# One-stage baseline on whole openfield frames (no boxes at test time): MMPose's YOLOXPoseHead,
# the small CSPDarknet of the one-stage quick start from scratch, frames resized to 320x256.
# One mouse per frame, so the test keeps the best-scoring instance (nms_pre=1) and MMPose's
# PCK/AUC/EPE compare it with the label. yoloxpose-rle_tiny_openfield-320.py swaps in the RLE
# head. For your data change data_root, the annotation files and the metainfo file.
# Training scales each frame to the input as the test's BottomupResize does ('affine' mode,
# long side): MMPose's 'perspective' mode keeps image pixels 1:1 (its COCO recipe resizes in
# Mosaic first), which on frames larger than the input would crop them and train the
# instances at another scale than the test sees.
_base_ = ['../one_stage/yoloxpose_tiny_crowds-192.py']

data_root = '{{$OPENFIELD_ROOT:../shared/data/openfield}}/'
metainfo_file = '{{fileDirname}}/../_base_/datasets/openfield.py'
metainfo = dict(from_file=metainfo_file)
input_size = (320, 256)
max_epochs = 60

train_cfg = dict(max_epochs=max_epochs, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', eta_min=1e-4, begin=0, T_max=max_epochs, by_epoch=True),
]
model = dict(
    head=dict(
        num_keypoints=4,
        assigner=dict(oks_calculator=dict(metainfo=metainfo_file)),
        loss_oks=dict(metainfo=metainfo_file),
    ),
    test_cfg=dict(score_thr=0.0, nms_pre=1),
)
codec = dict(type='YOLOXPoseAnnotationProcessor', input_size=input_size)
train_pipeline = [
    dict(type='LoadImage'),
    dict(
        type='BottomupRandomAffine',
        input_size=input_size,
        shift_factor=0.1,
        rotate_factor=30,
        scale_factor=(0.75, 1.25),
        pad_val=114,
        distribution='uniform',
        transform_mode='affine',  # the frame scaled to the input, as BottomupResize at test
        scale_type='long',
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
dataset_base = dict(data_root=data_root, metainfo=metainfo)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(dataset_base, ann_file='train.json', pipeline=train_pipeline),
)
val_dataloader = dict(
    dataset=dict(dataset_base, ann_file='val.json', pipeline=val_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='PCKAccuracy', thr=0.05),
    dict(type='AUC'),
    dict(type='EPE'),
    dict(type='CocoMetric', ann_file=data_root + 'val.json', score_mode='bbox', nms_mode='none'),
]
test_evaluator = val_evaluator
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=10, max_keep_ckpts=1, save_best='PCK', rule='greater'
    )
)
