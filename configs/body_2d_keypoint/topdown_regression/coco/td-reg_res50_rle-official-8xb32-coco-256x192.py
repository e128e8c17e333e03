# The official RLE model (Jeff-sjtu/res-loglikelihood-regression, RegressFlow, R50, COCO
# 256x192, 8 GPUs x 32) in mmpose_rle: its head (fc_coord with feature normalisation, separate
# fc_sigma), its loss formulation and its input normalisation (RGB / 255 minus
# (0.406, 0.457, 0.480), no std). Load checkpoints converted with
# tools/convert_official_checkpoint.py; data pipeline and schedule stay MMPose's.
_base_ = ['./td-reg_res50_rle-8xb64-210e_coco-256x192.py']

model = dict(
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[103.53, 116.535, 122.4],  # 255 * (0.406, 0.457, 0.480), R, G, B
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
    ),
    head=dict(type='mmpose_rle.OfficialRLEHead', loss=dict(formulation='official')),
)

train_dataloader = dict(batch_size=32)
