# RLE on soft-argmax (integral) regression, COCO 256x192: our R50 RLE config with the
# GlobalAveragePooling neck removed and the head replaced by mmpose_rle.IntegralRLEHead
# (3 SimpleBaseline deconvs on the 6x8 ResNet-50 feature map -> 48x64 heatmaps, softmax,
# expected coordinate; sigma from the pooled backbone features). Same codec
# (RegressionLabel), pipeline, schedule and flip test as the base. No result of ours yet.
#
# To start from a SimpleBaseline heatmap model, as MMPose's IPR/DSNT configs do, add
#   model = dict(init_cfg=dict(type='Pretrained', checkpoint='https://download.openmmlab.com/'
#                'mmpose/pretrain_models/td-hm_res50_8xb64-210e_coco-256x192.pth'))
# and head=dict(grid_offset=0.0) (the heatmap codec's pixel grid); the head renames the
# HeatmapHead keys on load, and only fc_sigma starts from scratch.
_base_ = ['./td-reg_res50_rle-8xb64-210e_coco-256x192.py']

model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='mmpose_rle.IntegralRLEHead',
        in_channels=2048,
        in_featuremap_size=(6, 8),  # (w, h) = (192, 256) / 32
        num_joints=17,
        deconv_out_channels=(256, 256, 256),
        deconv_kernel_sizes=(4, 4, 4),
        beta=1.0,
        loss=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder=_base_.codec,
    ),
)
