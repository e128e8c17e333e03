# Quick start, integral variant: RLE on soft-argmax regression (mmpose_rle.IntegralRLEHead)
# instead of the pooled-feature fc head, on the same procedural data set, schedule and flip
# test. ResNet-18 gives a 2x2 feature map at 64x64; three 128-channel deconvs upsample it
# to 16x16 heatmaps (stride 4, as SimpleBaseline). Run it with
#   python tools/quickstart.py --config configs/quickstart/integral-rle_res18_synthetic-64x64.py
_base_ = ['./rle_res18_synthetic-64x64.py']

model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='mmpose_rle.IntegralRLEHead',
        in_channels=512,
        in_featuremap_size=(2, 2),  # (w, h) = (64, 64) / 32
        num_joints=11,
        deconv_out_channels=(128, 128, 128),
        deconv_kernel_sizes=(4, 4, 4),
        loss=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        decoder=_base_.codec,
    ),
)
