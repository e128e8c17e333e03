"""Small RTMO heads (MMPose's RTMOHead and ours) for the RTMO tests; the keypoint count, input
size and ground-truth samples are those of :mod:`.yoloxpose_fixtures`."""

from .yoloxpose_fixtures import SIZE, K, samples

__all__ = ['K', 'SIZE', 'STRIDES', 'CHANNELS', 'head_cfg', 'samples']

STRIDES = (16, 32)
CHANNELS = 32  # split in halves: classification and pose features


def head_cfg(head_type: str, **overrides) -> dict:
    """A small RTMO head config of ``head_type`` (MMPose's, or one of ours)."""
    cfg = dict(
        type=head_type,
        num_keypoints=K,
        featmap_strides=STRIDES,
        head_module_cfg=dict(
            num_classes=1,
            in_channels=CHANNELS // 2,  # each half
            cls_feat_channels=16,
            channels_per_group=4,
            pose_vec_channels=16,
            widen_factor=1.0,
            stacked_convs=1,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU'),
        ),
        assigner=dict(
            type='SimOTAAssigner',
            dynamic_k_indicator='oks',
            oks_calculator=dict(type='PoseOKS', metainfo=None),
        ),
        prior_generator=dict(type='MlvlPointGenerator', centralize_points=True, strides=STRIDES),
        dcc_cfg=dict(
            in_channels=16,
            feat_channels=8,
            num_bins=(16, 16),
            spe_channels=16,
            gau_cfg=dict(
                s=16,
                expansion_factor=2,
                dropout_rate=0.0,
                drop_path=0.0,
                act_fn='SiLU',
                pos_enc='add',
            ),
        ),
        loss_cls=dict(type='VariFocalLoss', reduction='sum', use_target_weight=True),
        loss_bbox=dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum'),
        loss_oks=dict(type='OKSLoss', reduction='none'),
        loss_vis=dict(type='BCELoss', use_target_weight=True, reduction='mean'),
        loss_mle=dict(type='MLECCLoss', use_target_weight=True),
    )
    cfg.update(overrides)
    return cfg
