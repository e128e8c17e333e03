# Non-human example: MMPose's OneHand10K hand config (21 keypoints) turned into RLE with the
# same three lines as the COCO recipe; num_joints comes from the heatmap head it replaces.
_base_ = [
    'mmpose::hand_2d_keypoint/topdown_heatmap/onehand10k/td-hm_res50_8xb32-210e_onehand10k-256x256.py'
]  # noqa: E501
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# optional: MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

codec = dict(type='RegressionLabel', input_size=_base_.codec.input_size)
model = dict(
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        _delete_=True,
        type='mmpose_rle.RLEHead',
        in_channels=_base_.model.head.in_channels,
        num_joints=_base_.model.head.out_channels,
        decoder=codec,
    ),
)  # noqa: E501
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(t, encoder=codec) if t.type == 'GenerateTarget' else t
            for t in _base_.train_pipeline
        ]
    )
)  # noqa: E501
