# Recipe: MMPose's ResNet-50 *RLE* config turned into dense RLE: one changed line (the model:
# no GlobalAveragePooling neck, our DenseRLEHead) plus custom_imports. The RegressionLabel
# codec, the pipeline and the schedule stay MMPose's.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_regression/coco/td-reg_res50_rle-8xb64-210e_coco-256x192.py'
]
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# optional: MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

model = dict(
    neck=None,
    head=dict(
        _delete_=True,
        type='mmpose_rle.DenseRLEHead',
        in_channels=_base_.model.head.in_channels,
        num_joints=_base_.model.head.num_joints,
        decoder=_base_.model.head.decoder,
    ),
)
