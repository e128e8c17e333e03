# Recipe: MMPose's ResNet-50 *heatmap* config turned into dense RLE (mmpose_rle.DenseRLEHead:
# the heatmap head's deconvolutions, a soft-argmax coordinate, a sigma, the RLE loss plus a
# dense heatmap term). Three changed lines (codec, model, train pipeline) plus custom_imports;
# no neck, as for the heatmap head; everything else stays MMPose's.
_base_ = ['mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py']
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# optional: MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
visualizer = dict(type='mmpose_rle.SigmaPoseLocalVisualizer')

codec = dict(type='RegressionLabel', input_size=_base_.codec.input_size)
model = dict(
    head=dict(
        _delete_=True,
        type='mmpose_rle.DenseRLEHead',
        in_channels=_base_.model.head.in_channels,
        num_joints=_base_.model.head.out_channels,
        decoder=codec,
    ),
)
train_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(t, encoder=codec) if t.type == 'GenerateTarget' else t
            for t in _base_.train_pipeline
        ]
    )
)
