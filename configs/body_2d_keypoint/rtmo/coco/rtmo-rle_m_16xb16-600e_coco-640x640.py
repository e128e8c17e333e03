# MMPose's shipped RTMO-m COCO config with its RTMOHead swapped for mmpose_rle.RTMORLEHead: MMPose's
# model, data, schedule and DCC predictions, plus a sigma branch and the RLE term on the regression
# branch at a quarter weight (docs/one_stage.md, "RTMO"). MMPose's own RTMO-m figure is in its
# configs/body_2d_keypoint/rtmo/coco/rtmo_coco.yml; this swap is not trained on COCO here. Expects
# COCO under data/coco as MMPose's configs do.
_base_ = ['mmpose::body_2d_keypoint/rtmo/coco/rtmo-m_16xb16-600e_coco-640x640.py']
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

model = dict(
    head=dict(
        type='mmpose_rle.RTMORLEHead',
        loss_rle=dict(type='mmpose_rle.RLELoss', use_target_weight=True),
        loss_rle_weight=0.25,
        metainfo='configs/_base_/datasets/coco.py',
    )
)
