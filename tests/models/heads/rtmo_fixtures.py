"""Small RTMO heads (MMPose's RTMOHead and ours) for the RTMO tests; the keypoint count, input
size and ground-truth samples are those of :mod:`.yoloxpose_fixtures`."""

from typing import Tuple

import torch

from .yoloxpose_fixtures import SIZE, K, flat, samples

__all__ = ['K', 'SIZE', 'STRIDES', 'CHANNELS', 'head_cfg', 'samples', 'flat', 'features', 'priors']

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


def features(seed: int = 2) -> Tuple[torch.Tensor, ...]:
    """One ``(2, CHANNELS, SIZE/s, SIZE/s)`` map per stride."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(2, CHANNELS, SIZE // s, SIZE // s, generator=gen) for s in STRIDES)


def priors() -> torch.Tensor:
    """``(N, 4)``: x, y, stride, stride of every prior, levels in order; centralised: the
    centre of the cell's stride × stride input pixels, written out here (not MMPose's)."""
    rows = []
    for s in STRIDES:
        n = SIZE // s
        ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
        xy = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1).float() * s + (s - 1) / 2
        rows.append(torch.cat([xy, torch.full((n * n, 2), float(s))], -1))
    return torch.cat(rows)
