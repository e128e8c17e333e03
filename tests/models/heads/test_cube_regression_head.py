"""CubeTemporalRegressionHead: MMPose's lifting head with our units and initialisation, and
the options of RLELiftingHead that give it MMPose's (``cube_mm=None``, ``init_cfg=[]``)."""

import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads import TemporalRegressionHead
from mmpose.registry import KEYPOINT_CODECS
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.structures import PoseDataSample

from mmpose_rle.models import CubeTemporalRegressionHead, RLELiftingHead

K, C = 5, 16
TARGET_STD = np.random.default_rng(0).uniform(0.05, 0.3, size=(K, 3)).round(4)
VIDEO_CODEC = dict(type='VideoPoseLifting', num_keypoints=K, zero_center=True, root_index=0)
IMAGE_CODEC = dict(
    type='ImagePoseLifting',
    num_keypoints=K + 1,
    root_index=0,
    remove_root=True,
    target_mean=np.zeros((K, 3)).tolist(),
    target_std=TARGET_STD.tolist(),
)
#: Label units per cube unit, written out: 2000 mm over the mm of one label unit.
SCALES = {'video': 2000 / 1000, 'image': 2000 / (1000 * TARGET_STD.mean())}
CODECS = {'video': VIDEO_CODEC, 'image': IMAGE_CODEC}


def samples(batch: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        sample = PoseDataSample(metainfo=dict(target_root=torch.randn(1, 3, generator=gen).numpy()))
        sample.gt_instance_labels = InstanceData(
            lifting_target_label=torch.randn(1, K, 3, generator=gen),
            lifting_target_weight=torch.rand(1, K, generator=gen),
        )
        out.append(sample)
    return out


def feats(batch: int = 4, channels: int = C, seed: int = 1):
    return (torch.randn(batch, channels, 1, generator=torch.Generator().manual_seed(seed)),)


def randomised(head):
    """Weights of a trained-looking size, so that the scale matters."""
    gen = torch.Generator().manual_seed(2)
    with torch.no_grad():
        head.conv.weight.copy_(torch.randn(head.conv.weight.shape, generator=gen) * 0.3)
        head.conv.bias.copy_(torch.randn(head.conv.bias.shape, generator=gen) * 0.3)
    return head


def conv_output(head, x) -> torch.Tensor:
    """``W x + b`` of the head's 1×1 convolution, written out: ``(B, K, 3)``."""
    w, b = head.conv.weight[:, :, 0], head.conv.bias
    return (x[0][:, :, 0] @ w.T + b).reshape(len(x[0]), K, 3)


@pytest.mark.parametrize('codec', list(CODECS))
@pytest.mark.parametrize('weighted', [True, False], ids=['weights', 'no-weights'])
def test_loss_is_mse_on_labels_in_cube_units(codec, weighted):
    loss = dict(type='MSELoss', use_target_weight=weighted)
    head = randomised(CubeTemporalRegressionHead(C, K, loss=loss, decoder=CODECS[codec]))
    assert head.label_scale == pytest.approx(SCALES[codec])
    x, batch = feats(), samples(4)
    labels = torch.cat([s.gt_instance_labels.lifting_target_label for s in batch])
    w = torch.cat([s.gt_instance_labels.lifting_target_weight for s in batch])[..., None]
    w = w if weighted else torch.ones_like(w)
    residual = conv_output(head, x) - labels / SCALES[codec]
    expected = ((w * residual) ** 2).mean()
    got = head.loss(x, batch)['loss_pose3d']
    torch.testing.assert_close(got, expected.to(got), rtol=1e-5, atol=1e-7)
    got.backward()
    assert head.conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('codec', list(CODECS))
def test_predict_multiplies_the_scale_back(codec):
    """Keypoints are MMPose's head's when its layer outputs ours times the scale, and the
    codec's own decode of ``label_scale · (W x + b)``."""
    ours = randomised(CubeTemporalRegressionHead(C, K, decoder=CODECS[codec])).eval()
    theirs = TemporalRegressionHead(C, K, decoder=CODECS[codec]).eval()
    with torch.no_grad():
        theirs.conv.weight.copy_(ours.conv.weight * SCALES[codec])
        theirs.conv.bias.copy_(ours.conv.bias * SCALES[codec])
    x, batch = feats(3), samples(3)
    with torch.no_grad():
        preds, reference = ours.predict(x, batch), theirs.predict(x, batch)
        labels = (conv_output(ours, x) * SCALES[codec]).numpy()
    codec_obj = KEYPOINT_CODECS.build(CODECS[codec])
    for i, (pred, ref) in enumerate(zip(preds, reference)):
        np.testing.assert_allclose(pred.keypoints, ref.keypoints, rtol=1e-5, atol=1e-5)
        root = batch[i].metainfo['target_root'][None]
        expected, _ = codec_obj.decode(labels[i : i + 1], root)
        np.testing.assert_allclose(pred.keypoints, expected, rtol=1e-5, atol=1e-5)


def test_without_a_cube_it_is_mmposes_head():
    ours = randomised(CubeTemporalRegressionHead(C, K, decoder=VIDEO_CODEC, cube_mm=None))
    theirs = TemporalRegressionHead(C, K, decoder=VIDEO_CODEC)
    theirs.conv.load_state_dict(ours.conv.state_dict())
    x, batch = feats(), samples(4)
    assert ours.label_scale == 1.0
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(
        ours.loss(x, batch)['loss_pose3d'], theirs.loss(x, batch)['loss_pose3d']
    )


def _std_and_bias(conv: torch.nn.Module):
    return conv.weight.detach().std().item(), conv.bias.detach().abs().max().item()


def test_initialisations_are_what_they_say():
    """Normal(0.01) and zero bias for ours; PyTorch's default (``kaiming_uniform`` with
    a = √5: U(±1/√fan_in), std 1/√(3 fan_in)) for MMPose's head, and for ours with MMPose's
    ``init_cfg`` or none."""
    channels = 256  # 256 × 51 weights: the sample std is within 2 % of the true one
    default_std = 1 / math.sqrt(3 * channels)
    build = dict(in_channels=channels, num_joints=17, decoder=dict(VIDEO_CODEC, num_keypoints=17))
    mmpose = MMPOSE_MODELS.build(dict(type='TemporalRegressionHead', **build))
    heads = {
        'cube': (CubeTemporalRegressionHead(**build), 0.01),
        'mmpose': (mmpose, default_std),
        'rle': (RLELiftingHead(**build), 0.01),
        'rle_mmpose_init': (RLELiftingHead(init_cfg=mmpose.default_init_cfg, **build), default_std),
        'rle_no_init': (RLELiftingHead(init_cfg=[], **build), default_std),
    }
    for name, (head, std) in heads.items():
        head.init_weights()
        convs = [head.conv] + ([head.conv_sigma] if hasattr(head, 'conv_sigma') else [])
        for conv in convs:
            got_std, max_bias = _std_and_bias(conv)
            assert got_std == pytest.approx(std, rel=0.05), name
            if std == 0.01:
                assert max_bias == 0, name
            else:  # U(±1/√fan_in): non-zero, within the bound
                assert 0 < max_bias <= 1 / math.sqrt(channels), name


def test_rle_head_without_a_cube_regresses_labels_in_their_units():
    head = RLELiftingHead(C, K, decoder=VIDEO_CODEC, cube_mm=None)
    assert head.label_scale == 1.0
    np.testing.assert_allclose(head.sigma_scale_mm(), np.full((K, 3), 1000.0))


@pytest.mark.parametrize('cube_mm', [0.0, -1.0])
def test_bad_cube_raises(cube_mm):
    with pytest.raises(ValueError, match='positive'):
        CubeTemporalRegressionHead(C, K, cube_mm=cube_mm)


def test_mmposes_init_cfg_starts_our_flow_as_ours_does():
    """The flow's Linear layers get zero biases from either init_cfg (then Xavier weights)."""
    mmpose_init = TemporalRegressionHead(in_channels=1, num_joints=1).default_init_cfg
    for init_cfg in (None, mmpose_init):
        head = RLELiftingHead(C, K, init_cfg=init_cfg)
        head.init_weights()
        linears = [m for m in head.loss_module.modules() if isinstance(m, torch.nn.Linear)]
        assert linears and all((m.bias == 0).all() for m in linears)
