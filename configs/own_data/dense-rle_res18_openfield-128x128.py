# Dense RLE on openfield: our recommended own-data setting (docs/benchmark.md). The RLE example
# config with the head swapped for mmpose_rle.DenseRLEHead (SimpleBaseline deconvolutions, a
# soft-argmax coordinate and sigma, plus a dense heatmap term of weight 100) and the 60-epoch
# schedule of the heatmap baseline (LR x0.1 at 45 and 55). On openfield (3 seeds) it comes
# within 0.01 PCK@0.05 of the heatmap head with a lower EPE, at the same cost per step, with a
# continuous coordinate and a sigma per keypoint; the plain RLE head stays far behind on 93
# images from scratch. For your data, edit the base config (data, metainfo, num_joints); its
# sampler draws a set of fewer than 80 images several times per epoch, so 60 epochs stay
# about 360 steps on a few dozen images.
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
        # keypoint scores: each keypoint's expected OKS under its sigma (not 1 - mean
        # sigma-hat), so that instances are ranked by their expected OKS in COCO AP and in
        # the inferencer's scores (docs/sigma_sources.md)
        keypoint_score='expected_oks',
        oks_sigmas=_base_.metainfo['sigmas'],
    ),
)
# The base config's metrics; its COCO AP with every keypoint's expected OKS in the instance
# score (threshold 0 instead of CocoMetric's 0.2, which would score an instance by its few
# certain keypoints)
val_evaluator = [
    dict(metric, keypoint_score_thr=0.0) if metric['type'] == 'CocoMetric' else metric
    for metric in _base_.val_evaluator
]
test_evaluator = val_evaluator
