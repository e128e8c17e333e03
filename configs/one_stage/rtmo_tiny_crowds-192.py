# MMPose's RTMO (RTMOHead: YOLOX-Pose's detector with a dynamic coordinate classifier, DCC) on
# the procedural crowds, small and from scratch at 192x192 on the CPU: the baseline of
# rtmo-rle_tiny_crowds-192.py, and the model on which `python tools/rtmo_branches.py` measures
# whether RTMO's regression branch can carry the RLE term (docs/one_stage.md, "RTMO"). Model,
# losses and the mid-schedule switch to the DCC's predictions as the regression branch's
# targets follow MMPose's configs/body_2d_keypoint/rtmo/coco/rtmo-s_8xb32-600e_coco-640x640.py;
# the schedule, optimiser and data pipeline are those of yoloxpose_tiny_crowds-192.py.
_base_ = ['./yoloxpose_tiny_crowds-192.py']

data_root = '{{$MMPOSE_RLE_CROWDS_ROOT:data/synthetic_crowds}}/'
input_size = (192, 192)
# The schedule of the one-stage crowds benchmark (docs/one_stage.md): 30 epochs.
max_epochs = 30
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=75, start_factor=0.01, by_epoch=False),
    dict(type='CosineAnnealingLR', eta_min=1e-4, begin=0, T_max=max_epochs, by_epoch=True),
]
# RTMO-s switches at epoch 280 of 600: the regression branch then regresses the DCC's
# predictions where they are closer to the label (proxy_target_cc), and the DCC's term weighs more.
switch_epoch = max_epochs // 2

optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'neck.encoder': dict(lr_mult=0.05)}))
custom_hooks = [
    dict(
        type='RTMOModeSwitchHook',
        epoch_attributes={
            switch_epoch: {
                'proxy_target_cc': True,
                'loss_mle.loss_weight': 5.0,
                'loss_oks.loss_weight': 10.0,
            },
        },
        priority=48,
    ),
]

model = dict(
    neck=dict(
        _delete_=True,
        type='HybridEncoder',
        in_channels=[64, 128, 256],
        deepen_factor={{_base_.deepen_factor}},
        widen_factor=0.5,
        hidden_dim=64,
        output_indices=[1, 2],
        encoder_cfg=dict(
            self_attn_cfg=dict(embed_dims=64, num_heads=4, dropout=0.0),
            ffn_cfg=dict(
                embed_dims=64,
                feedforward_channels=256,
                ffn_drop=0.0,
                act_cfg=dict(type='GELU'),
            ),
        ),
        projector=dict(
            type='ChannelMapper',
            in_channels=[64, 64],
            kernel_size=1,
            out_channels=64,
            act_cfg=None,
            norm_cfg=dict(type='BN'),
            num_outs=2,
        ),
    ),
    head=dict(
        _delete_=True,
        type='RTMOHead',
        num_keypoints=11,
        featmap_strides=(16, 32),
        head_module_cfg=dict(
            num_classes=1,
            in_channels=64,
            cls_feat_channels=64,
            channels_per_group=36,
            pose_vec_channels=64,
            widen_factor=0.5,
            stacked_convs=2,
            norm_cfg=dict(type='BN', momentum=0.03, eps=0.001),
            act_cfg=dict(type='Swish'),
        ),
        assigner=dict(
            type='SimOTAAssigner',
            dynamic_k_indicator='oks',
            oks_calculator=dict(type='PoseOKS', metainfo=data_root + 'metainfo.py'),
            use_keypoints_for_center=True,
        ),
        prior_generator=dict(type='MlvlPointGenerator', centralize_points=True, strides=[16, 32]),
        # RTMO-s: 192 x 256 bins for a 640 input; here in proportion to 192
        dcc_cfg=dict(
            in_channels=64,
            feat_channels=32,
            num_bins=(64, 80),
            spe_channels=64,
            gau_cfg=dict(
                s=64,
                expansion_factor=2,
                dropout_rate=0.0,
                drop_path=0.0,
                act_fn='SiLU',
                pos_enc='add',
            ),
        ),
        overlaps_power=0.5,
        loss_cls=dict(
            type='VariFocalLoss', reduction='sum', use_target_weight=True, loss_weight=1.0
        ),
        loss_bbox=dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum', loss_weight=5.0),
        loss_oks=dict(
            type='OKSLoss', reduction='none', metainfo=data_root + 'metainfo.py', loss_weight=30.0
        ),
        loss_vis=dict(type='BCELoss', use_target_weight=True, reduction='mean', loss_weight=1.0),
        loss_mle=dict(type='MLECCLoss', use_target_weight=True, loss_weight=1.0),
        loss_bbox_aux=dict(type='L1Loss', reduction='sum', loss_weight=1.0),
    ),
    test_cfg=dict(input_size=input_size, score_thr=0.01, nms_thr=0.65),
)
