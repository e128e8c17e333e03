# MMPose's R101 RLE config (COCO, 256x192) with our head and loss.
# Reference figures (docs/training.md, Configs) are MMPose's or the paper's, not ours.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_regression/coco/td-reg_res101_rle-8xb64-210e_coco-256x192.py'
]

custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

model = dict(
    head=dict(
        type='mmpose_rle.RLEHead', loss=dict(type='mmpose_rle.RLELoss', use_target_weight=True)
    )
)
