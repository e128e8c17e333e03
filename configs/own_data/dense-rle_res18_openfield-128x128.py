# Dense RLE on openfield: our recommended own-data setting (docs/benchmark.md). The RLE example
# config with the head swapped for mmpose_rle.DenseRLEHead (SimpleBaseline deconvolutions, a
# soft-argmax coordinate and sigma, plus a dense heatmap term of weight 100) and the 60-epoch
# schedule of the heatmap baseline (LR x0.1 at 45 and 55). On openfield (3 seeds) it comes
# within 0.01 PCK@0.05 of the heatmap head with a lower EPE, at the same cost per step, with a
# continuous coordinate and a sigma per keypoint; the plain RLE head stays far behind on 93
# images from scratch. For your data, edit the base config (data, metainfo, num_joints).
_base_ = ['./rle_res18_openfield-128x128.py']

max_epochs = 60
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=100, start_factor=0.01, by_epoch=False),
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[45, 55], gamma=0.1
    ),
]
model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='mmpose_rle.DenseRLEHead',
        in_channels=_base_.model.head.in_channels,
        num_joints=_base_.model.head.num_joints,
        decoder=_base_.codec,
    ),
)
# COCO AP twice: with MMPose's instance score (1 - mean sigma-hat; `coco/AP`) and with the
# instance's expected OKS under sigma (mmpose_rle.SigmaCocoMetric; `coco_sigma/AP`), whose AP
# is within 0.01 of the heatmap head's or above it at every training-set size measured
# (docs/sigma_sources.md).
val_evaluator = _base_.val_evaluator + [
    dict(
        type='mmpose_rle.SigmaCocoMetric',
        ann_file=_base_.data_root + 'val.json',
        prefix='coco_sigma',
    )
]
test_evaluator = val_evaluator
