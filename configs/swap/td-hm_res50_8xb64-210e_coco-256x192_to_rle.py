# Recipe: MMPose's ResNet-50 *heatmap* config turned into RLE. Three changed lines
# (codec, model, train pipeline) plus custom_imports; everything else, from the data to the
# schedule, stays MMPose's. The same three lines work for any top-down heatmap config whose
# head is a HeatmapHead (see td-hm_res50_8xb32-210e_onehand10k-256x256_to_rle.py).
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py']
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
