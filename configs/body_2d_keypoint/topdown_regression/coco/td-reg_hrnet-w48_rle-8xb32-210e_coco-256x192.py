# HRNet-W48 with an RLE head on COCO (256x192): MMPose's HRNet-W48 heatmap config with the
# head swapped (as in configs/swap/) and MMPose's RLE optimiser (Adam, lr 1e-3). The head
# sees the 48-channel high-resolution output after global average pooling. MMPose has no
# HRNet RLE model; no figure is claimed for this config.
_base_ = [
    'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w48_8xb32-210e_coco-256x192.py'
]  # noqa: E501
custom_imports = dict(imports=['mmpose_rle'], allow_failed_imports=False)
# MMPose's drawing plus sigma ellipses (test --show-dir, MMPoseInferencer, demos)
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
optim_wrapper = dict(optimizer=dict(lr=1e-3))
