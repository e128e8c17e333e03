"""Conversion of official RLE checkpoints: same predictions as the official model.

The official ``RegressFlow`` (``rlepose/models/regression_nf.py``) and its preprocessing
(``rlepose/utils/presets/simple_transform.py``) are re-written here from their published
description: a torchvision ResNet under ``preact``, global average pooling, ``fc_coord``
(``x Wᵀ / ‖x‖ + b``) and ``fc_sigma`` (``x Wᵀ + b``, sigmoid), a RealNVP ``flow`` (``s``,
``t``, ``mask``), and targets in ``[−0.5, 0.5]``.
"""

import math

import numpy as np
import pytest
import torch
import torchvision
from mmengine.config import Config
from torch import nn

from mmpose_rle.apis.convert_official import (
    convert_official_state_dict,
    extract_official_state_dict,
    infer_official_architecture,
    load_strictly,
    official_data_preprocessor,
)
from mmpose_rle.apis.onnx_export import build_model
from tests.helpers import ROOT, randomise_, run_tool

OFFICIAL_CONFIG = (
    ROOT / 'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_rle-official-8xb32-coco-256x192.py'
)
R18_OPTIONS = ['model.backbone.depth=18', 'model.head.in_channels=512']
SIZE = np.array([192, 256], np.float32)  # (W, H)


class OfficialLinear(nn.Module):
    """``rlepose``'s ``Linear``: ``y = x Wᵀ (/ ‖x‖₂ if norm) + b``, weights: ``linear``."""

    def __init__(self, cin: int, cout: int, norm: bool) -> None:
        super().__init__()
        self.norm = norm
        self.linear = nn.Linear(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.matmul(self.linear.weight.t())
        if self.norm:
            y = y / torch.norm(x, dim=1, keepdim=True)
        return y + self.linear.bias


def _mlp(bounded: bool) -> nn.Sequential:
    layers = [nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2)]
    return nn.Sequential(*layers, *([nn.Tanh()] if bounded else []))


class OfficialFlow(nn.Module):
    """RealNVP with masks ``[[0, 1], [1, 0]] × 3`` and an N(0, I) prior (not stored)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer('mask', torch.tensor([[0.0, 1.0], [1.0, 0.0]] * 3))
        self.t = nn.ModuleList([_mlp(False) for _ in range(6)])
        self.s = nn.ModuleList([_mlp(True) for _ in range(6)])

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        log_det, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            z_ = self.mask[i] * z
            s = self.s[i](z_) * (1 - self.mask[i])
            t = self.t[i](z_) * (1 - self.mask[i])
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
            log_det = log_det - s.sum(dim=1)
        return -0.5 * (z**2).sum(1) - math.log(2 * math.pi) + log_det


class OfficialRegressFlow(nn.Module):
    """The official model's layout and test-time forward."""

    def __init__(self, depth: int = 50, num_joints: int = 17) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.preact = getattr(torchvision.models, f'resnet{depth}')(weights=None)
        del self.preact.fc, self.preact.avgpool  # the official ResNet has neither
        channels = 512 if depth < 50 else 2048
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fcs = nn.Sequential(nn.Identity())
        self.fc_coord = OfficialLinear(channels, num_joints * 2, norm=True)
        self.fc_sigma = OfficialLinear(channels, num_joints * 2, norm=False)
        self.flow = OfficialFlow()

    def forward(self, x: torch.Tensor):
        p = self.preact
        x = p.maxpool(p.relu(p.bn1(p.conv1(x))))
        x = p.layer4(p.layer3(p.layer2(p.layer1(x))))
        feat = self.fcs(self.avg_pool(x).reshape(x.shape[0], -1))
        coords = self.fc_coord(feat).reshape(-1, self.num_joints, 2)
        sigma = self.fc_sigma(feat).reshape(-1, self.num_joints, 2).sigmoid()
        return coords, sigma, (1 - sigma).mean(-1)


def official_preprocess(bgr: np.ndarray) -> torch.Tensor:
    """cv2 BGR → RGB, ``/ 255``, minus (0.406, 0.457, 0.480) per R, G, B channel."""
    img = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1).float()
    img = img / 255
    img[0].add_(-0.406)
    img[1].add_(-0.457)
    img[2].add_(-0.480)
    return img


def make_official(depth: int, seed: int = 0) -> OfficialRegressFlow:
    """An official model with random weights, BN statistics, head and flow (eval mode).

    ``fc_sigma`` is scaled so that the σ logits are of order 1 for the test images, whatever
    the scale of the random features (σ̂ must not saturate at 0 or 1).
    """
    torch.manual_seed(seed)
    model = OfficialRegressFlow(depth).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.preact.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))
        for fc in (model.fc_coord, model.fc_sigma):
            fc.linear.weight.copy_(torch.randn(fc.linear.weight.shape, generator=gen) * 0.3)
            fc.linear.bias.copy_(torch.randn(fc.linear.bias.shape, generator=gen) * 0.1)
        p = model.preact
        x = torch.stack([official_preprocess(b) for b in _images(2)])
        x = p.layer4(p.layer3(p.layer2(p.layer1(p.maxpool(p.relu(p.bn1(p.conv1(x))))))))
        model.fc_sigma.linear.weight.mul_(5.0 / x.mean((2, 3)).norm(dim=1).mean())
    randomise_(model.flow, std=0.3, seed=seed)
    return model


def _images(n: int = 2, seed: int = 0) -> np.ndarray:
    """``n`` BGR uint8 crops of 256×192 with structure (gradients + noise)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:192]
    out = []
    for i in range(n):
        base = np.stack([xx * (i + 1) % 256, yy, (xx + yy) // 2 + 60 * i], -1)
        out.append(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def _ours(model: nn.Module, bgr: np.ndarray):
    """Our model's preprocessed inputs and predictions (head.predict, as MMPose runs it)."""
    from mmpose.structures import PoseDataSample

    samples = [PoseDataSample(metainfo=dict(input_size=(192, 256))) for _ in bgr]
    with torch.no_grad():
        data = model.data_preprocessor(
            dict(inputs=[torch.from_numpy(b).permute(2, 0, 1) for b in bgr], data_samples=samples)
        )
        feats = model.extract_feat(data['inputs'])
        preds = model.head.predict(feats, samples, test_cfg={})
        sigma = model.head.predict_outputs(feats).sigma
    return data['inputs'], preds, sigma


@pytest.fixture(scope='module')
def official_r50():
    return make_official(50)


def test_converted_r50_predicts_like_the_official_model(official_r50):
    official = official_r50
    state = convert_official_state_dict(official.state_dict())
    assert not any(k.startswith(('preact.', 'fcs.', 'flow.')) for k in state)
    cfg = Config.fromfile(str(OFFICIAL_CONFIG))
    assert cfg.model.data_preprocessor.mean == official_data_preprocessor()['mean']
    assert cfg.model.data_preprocessor.std == official_data_preprocessor()['std']
    model = build_model(cfg)
    load_strictly(model, state)  # raises on any missing/unexpected key
    bgr = _images(2)
    with torch.no_grad():
        inputs_off = torch.stack([official_preprocess(b) for b in bgr])
        coords_off, sigma_off, scores_off = official(inputs_off)
    inputs, preds, sigma = _ours(model, bgr)
    np.testing.assert_allclose(inputs.numpy(), inputs_off.numpy(), atol=1e-6)
    keypoints = np.concatenate([p.keypoints for p in preds])
    expected = (coords_off.numpy() + 0.5) * SIZE  # centre origin -> corner origin, pixels
    assert np.abs(keypoints / SIZE - expected / SIZE).max() <= 1e-5
    assert np.abs(coords_off.numpy()).max() > 0.1 and coords_off.std(0).mean() > 1e-3
    np.testing.assert_allclose(sigma.numpy(), sigma_off.numpy(), atol=1e-5)
    assert 0.01 < sigma_off.min() and sigma_off.max() < 0.99 and sigma_off.std() > 0.05
    np.testing.assert_allclose(
        np.concatenate([p.keypoint_scores for p in preds]), scores_off.numpy(), atol=1e-5
    )
    rms = model.head.loss_module.residual_rms().numpy()
    np.testing.assert_allclose(
        np.concatenate([p.keypoint_sigmas for p in preds]),
        sigma_off.numpy() * rms * SIZE,
        rtol=1e-4,
    )
    # the flow is the official one: same log-density of residuals
    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(1)) * 2
    with torch.no_grad():
        np.testing.assert_allclose(
            model.head.loss_module.flow_model.log_prob(x).numpy(),
            official.flow.log_prob(x).numpy(),
            atol=1e-5,
        )


def test_wrapped_and_data_parallel_checkpoints_give_the_same_state(official_r50):
    raw = official_r50.state_dict()
    expected = convert_official_state_dict(extract_official_state_dict(raw))
    assert infer_official_architecture(raw) == dict(depth=50, in_channels=2048, num_joints=17)
    module = {'module.' + k: v for k, v in raw.items()}
    for wrapped in (module, {'state_dict': module, 'epoch': 3}, {'model': raw}):
        got = convert_official_state_dict(extract_official_state_dict(wrapped))
        assert list(got) == list(expected)
        assert all(torch.equal(got[k], expected[k]) for k in got)
    np.testing.assert_allclose(
        expected['head.fc_coord.bias'].numpy(), raw['fc_coord.linear.bias'].numpy() + 0.5
    )
    assert torch.equal(expected['head.fc_sigma.bias'], raw['fc_sigma.linear.bias'])


def test_clear_errors_for_other_checkpoints(official_r50):
    raw = official_r50.state_dict()
    no_sigma = {k: v for k, v in raw.items() if not k.startswith('fc_sigma.')}
    with pytest.raises(
        KeyError,
        match=r"missing keys \['fc_sigma.linear.weight', "
        r"'fc_sigma.linear.bias'\]",
    ):
        convert_official_state_dict(no_sigma)
    resnet = torchvision.models.resnet18(weights=None).state_dict()
    with pytest.raises(KeyError, match='not a checkpoint of the official RLE model'):
        convert_official_state_dict(extract_official_state_dict(resnet))
    with pytest.raises(ValueError, match='NUM_FC_FILTERS'):
        convert_official_state_dict({**raw, 'fcs.0.weight': torch.zeros(4, 2048)})
    with pytest.raises(KeyError, match='unexpected keys.*head_extra'):
        convert_official_state_dict({**raw, 'head_extra.weight': torch.zeros(1)})
    with pytest.raises(ValueError, match='not a state dict'):
        extract_official_state_dict({'epoch': 3, 'cfg': 'x'})
    model = build_model(OFFICIAL_CONFIG, cfg_options={'model.head.type': 'mmpose_rle.RLEHead'})
    with pytest.raises(ValueError, match=r'missing \[.head.fc.weight'):
        load_strictly(model, convert_official_state_dict(raw))


def test_cli_converts_a_data_parallel_r18_checkpoint(tmp_path):
    official = make_official(18, seed=2)
    src, dst = tmp_path / 'model_269.pth', tmp_path / 'converted.pth'
    torch.save({'module.' + k: v for k, v in official.state_dict().items()}, src)
    proc = run_tool(
        [
            'tools/convert_official_checkpoint.py',
            str(src),
            str(dst),
            '--config',
            str(OFFICIAL_CONFIG),
            '--cfg-options',
            *R18_OPTIONS,
        ]
    )
    out = proc.stdout
    assert 'ResNet depth 18, in_channels 512, 17 keypoints' in out
    assert "'mean': [103.53, 116.535, 122.4], 'std': [255.0, 255.0, 255.0]" in out
    assert "'bgr_to_rgb': True" in out and 'loaded strictly' in out and 'WARNING' not in out
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['data_preprocessor'] == official_data_preprocessor()
    assert ckpt['meta']['cfg_options']['model.backbone.depth'] == 18
    model = build_model(OFFICIAL_CONFIG, str(dst), cfg_options=ckpt['meta']['cfg_options'])
    bgr = _images(1, seed=3)
    with torch.no_grad():
        coords_off, sigma_off, _ = official(official_preprocess(bgr[0])[None])
    _, preds, sigma = _ours(model, bgr)
    np.testing.assert_allclose(preds[0].keypoints / SIZE, coords_off.numpy() + 0.5, atol=1e-5)
    np.testing.assert_allclose(sigma.numpy(), sigma_off.numpy(), atol=1e-5)
