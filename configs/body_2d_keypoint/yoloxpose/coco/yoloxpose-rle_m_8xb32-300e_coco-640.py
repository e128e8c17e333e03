# YOLOX-Pose-m on COCO with the RLE head: the -s config of ours at MMPose's -m width and depth
# and with its YOLOX-m backbone weights (MMPose reports 69.5 COCO AP for its own -m model; MMPose's
# figure, not measured here).
_base_ = ['./yoloxpose-rle_s_8xb32-300e_coco-640.py']

widen_factor = 0.75
deepen_factor = 0.67
model = dict(
    backbone=dict(
        deepen_factor=deepen_factor,
        widen_factor=widen_factor,
        init_cfg=dict(
            checkpoint='https://download.openmmlab.com/mmpose/v1/pretrained_models/'
            'yolox_m_8x8_300e_coco_20230829.pth'
        ),
    ),
    neck=dict(in_channels=[192, 384, 768], out_channels=192, num_csp_blocks=2),
    head=dict(head_module_cfg=dict(widen_factor=widen_factor)),
)
