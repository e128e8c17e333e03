"""Size and speed of one model: parameters, FLOPs, latency, training step, memory.

Every time is the median of repeated runs after warm-up, measured in the same process
as the other variants, so that ratios between variants are what to read (the machines
are shared and noisy).
"""

import statistics
import time
from typing import Callable, Dict, List

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.optim import OptimWrapper
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.testing import get_packed_inputs
from torch import nn

__all__ = ['measure_speed', 'median_time', 'packed_batch', 'head_step', 'flip_settings']


def median_time(fn: Callable[[], object], warmup: int = 2, repeats: int = 5) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def packed_batch(batch_size: int, input_size, num_keypoints: int) -> dict:
    """A batch as the data loader gives it, with labels for every kind of head (the
    one-stage heads' ``bboxes``, ``labels``, ``keypoints``, ``keypoints_visible`` and
    ``areas`` among them, from the sample's instance)."""
    w, h = input_size
    data = get_packed_inputs(
        batch_size,
        num_keypoints=num_keypoints,
        img_shape=(h, w),
        input_size=(w, h),
        heatmap_size=(w // 4, h // 4),
        with_heatmap=True,
        with_reg_label=True,
        with_simcc_label=False,
    )
    perm = list(range(num_keypoints))
    for sample in data['data_samples']:
        sample.set_metainfo(dict(flip_indices=perm))
        inst, labels = sample.gt_instances, sample.gt_instance_labels
        bboxes = torch.as_tensor(inst.bboxes, dtype=torch.float32)
        labels.bboxes = bboxes
        labels.labels = torch.zeros(len(bboxes), dtype=torch.long)
        labels.keypoints = torch.as_tensor(inst.keypoints, dtype=torch.float32)
        labels.keypoints_visible = torch.as_tensor(inst.keypoints_visible, dtype=torch.float32)
        labels.areas = (bboxes[:, 2:] - bboxes[:, :2]).clamp_min(1).prod(-1)
    return data


def flip_settings(model: nn.Module) -> tuple:
    """The flip-test settings a model's inference is timed with: without and with, or
    without alone for a one-stage model (MMPose's YOLOX-Pose heads have no flip test)."""
    return (False,) if isinstance(model.head, YOLOXPoseHead) else (False, True)


def head_step(model: nn.Module, batch: dict) -> Callable[[], None]:
    """A callable running the head's loss forward and backward on fixed features.

    The features of the preprocessed ``batch`` are computed once, so the callable
    times the head, the flow and the loss alone.
    """
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
    feats = tuple(f.detach().requires_grad_() for f in feats)

    def step() -> None:
        losses = model.head.loss(feats, batch['data_samples'])
        sum(v.mean() for k, v in losses.items() if 'loss' in k).backward()  # as MMEngine

    return step


class _TensorMode(nn.Module):
    """``model(x)`` in MMPose's tensor mode (backbone, neck, head), for FLOP counting."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model(x, None, mode='tensor')


def _saved_activation_bytes(fn: Callable[[], torch.Tensor]) -> int:
    """Bytes of the distinct tensors autograd saves for backward while running ``fn``."""
    storages: Dict[int, int] = {}

    def pack(t: torch.Tensor):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


def measure_speed(
    model: nn.Module,
    input_size,
    num_keypoints: int,
    batch_sizes: List[int] = (1, 32),
    train_batch: int = 16,
    repeats: int = 5,
) -> dict:
    """Measure one model.

    Returns:
        dict: ``params`` (M), ``flops`` (G, one image, backbone to head), for every batch
        size ``b`` and flip setting (:func:`flip_settings`) ``latency_b{b}[_flip]`` (s per
        batch, predict mode with preprocessing and decoding) and ``throughput_b{b}[_flip]``
        (images/s), ``latency_b{b}_features`` (backbone + neck alone on preprocessed inputs, the
        lower bound of a one-FC head) and ``overhead_b{b}`` (``latency_b{b}`` over it,
        minus 1); ``train_step`` (s per step of
        ``train_batch`` images, forward + backward + Adam), ``head_share`` (share of the
        head, flow and loss in it) and ``memory_mb`` (parameters, gradients and Adam
        state plus the activations saved for backward in a training step).
    """
    model = model.eval()
    w, h = input_size
    analysis = get_model_complexity_info(
        _TensorMode(model), input_shape=(3, h, w), show_table=False, show_arch=False
    )
    result: dict = dict(
        params=sum(p.numel() for p in model.parameters()) / 1e6, flops=analysis['flops'] / 1e9
    )
    flip_test = model.test_cfg.get('flip_test', False)
    for b in batch_sizes:
        result.update(_inference_times(model, packed_batch(b, input_size, num_keypoints), repeats))
    model.test_cfg['flip_test'] = flip_test
    result.update(
        _training_costs(model, packed_batch(train_batch, input_size, num_keypoints), repeats)
    )
    model.eval()
    return result


@torch.no_grad()
def _inference_times(model: nn.Module, data: dict, repeats: int) -> Dict[str, float]:
    """``latency_b{b}_features``, ``latency_b{b}[_flip]``, ``throughput_b{b}[_flip]`` and
    ``overhead_b{b}`` of :func:`measure_speed` for the batch ``data`` of ``b`` images;
    leaves the flip test on."""
    b = len(data['data_samples'])
    inputs = model.data_preprocessor(data, False)['inputs']
    out = {
        f'latency_b{b}_features': median_time(lambda: model.extract_feat(inputs), repeats=repeats)
    }
    for flip in flip_settings(model):
        model.test_cfg['flip_test'] = flip
        t = median_time(lambda: model.test_step(data), repeats=repeats)
        key = f'b{b}' + ('_flip' if flip else '')
        out[f'latency_{key}'] = t
        out[f'throughput_{key}'] = b / t
    out[f'overhead_b{b}'] = out[f'latency_b{b}'] / out[f'latency_b{b}_features'] - 1
    return out


def _training_costs(model: nn.Module, data: dict, repeats: int) -> Dict[str, float]:
    """``train_step``, ``head_share`` and ``memory_mb`` of :func:`measure_speed` for the
    training batch ``data``; leaves the model in training mode."""
    model.train()
    wrapper = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-6))
    out = dict(train_step=median_time(lambda: model.train_step(data, wrapper), repeats=repeats))
    batch = model.data_preprocessor(data, True)
    out['head_share'] = median_time(head_step(model, batch), repeats=repeats) / out['train_step']

    def full_forward():
        losses = model.loss(batch['inputs'], batch['data_samples'])
        return sum(v.mean() for k, v in losses.items() if 'loss' in k)

    params = sum(p.numel() for p in model.parameters())
    state = 4 * params * 4  # fp32 weights, gradients and Adam's two moments
    out['memory_mb'] = (state + _saved_activation_bytes(full_forward)) / 2**20
    return out
