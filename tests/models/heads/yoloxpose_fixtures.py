"""Small YOLOX-Pose heads and batches for the one-stage head's tests."""

from typing import List, Tuple

import torch
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

from mmpose_rle.registry import MODELS

__all__ = ['K', 'SIZE', 'STRIDES', 'head_cfg', 'build_head', 'features', 'samples', 'flat']

K = 5
SIZE = 64
STRIDES = (8, 16, 32)


def head_cfg(rle: bool = True, **overrides) -> dict:
    """A YOLOX-Pose head config with 16 channels (ours with ``rle``, else MMPose's)."""
    cfg = dict(
        type='mmpose_rle.YOLOXPoseRLEHead' if rle else 'YOLOXPoseHead',
        num_keypoints=K,
        featmap_strides=STRIDES,
        head_module_cfg=dict(
            num_classes=1,
            in_channels=16,
            feat_channels=16,
            stacked_convs=1,
            norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU'),
        ),
        prior_generator=dict(type='MlvlPointGenerator', offset=0, strides=list(STRIDES)),
        assigner=dict(
            type='SimOTAAssigner',
            dynamic_k_indicator='oks',
            oks_calculator=dict(type='PoseOKS', metainfo=None),
        ),
        overlaps_power=0.5,
        loss_cls=dict(type='BCELoss', reduction='sum', loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', mode='square', eps=1e-16, reduction='sum', loss_weight=5.0),
        loss_obj=dict(type='BCELoss', use_target_weight=True, reduction='sum', loss_weight=1.0),
        loss_oks=dict(type='OKSLoss', reduction='none', norm_target_weight=True, loss_weight=30.0),
        loss_vis=dict(type='BCELoss', use_target_weight=True, reduction='mean', loss_weight=1.0),
    )
    cfg.update(overrides)
    return cfg


def build_head(rle: bool = True, seed: int = 0, **overrides):
    """The head of :func:`head_cfg`, initialised under ``seed``."""
    register_all_modules()
    torch.manual_seed(seed)
    head = MODELS.build(head_cfg(rle, **overrides))
    head.init_weights()
    return head


def features(batch: int = 2, seed: int = 1) -> Tuple[torch.Tensor, ...]:
    """One ``(B, 16, SIZE/s, SIZE/s)`` map per stride."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(batch, 16, SIZE // s, SIZE // s, generator=gen) for s in STRIDES)


def samples(batch: int = 2, instances: int = 2, seed: int = 2) -> List[PoseDataSample]:
    """Samples with ``instances`` random figures each (boxes around their keypoints)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        sample = PoseDataSample(
            metainfo=dict(
                input_size=(SIZE, SIZE),
                input_scale=(2.0 * SIZE, 2.0 * SIZE),
                input_center=(64.0, 64.0),
            )
        )
        kps = torch.rand(instances, K, 2, generator=gen) * 30 + 10
        boxes = torch.cat([kps.min(1).values - 3, kps.max(1).values + 3], -1)
        sample.gt_instance_labels = InstanceData(
            bboxes=boxes,
            labels=torch.zeros(instances, dtype=torch.long),
            keypoints=kps,
            keypoints_visible=torch.ones(instances, K),
            areas=(boxes[:, 2:] - boxes[:, :2]).prod(-1),
        )
        out.append(sample)
    return out


def flat(maps: List[torch.Tensor]) -> torch.Tensor:
    """``(B, N, C)`` from per-level ``(B, C, H, W)`` maps, written out here (not MMPose's)."""
    return torch.cat([m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, m.shape[1]) for m in maps], 1)
