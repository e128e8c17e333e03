"""RLELiftingHead: MMPose's layout and decoding, σ in millimetres, the loss's wiring."""

import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads import TemporalRegressionHead
from mmpose.registry import KEYPOINT_CODECS
from mmpose.structures import PoseDataSample

from mmpose_rle.models import RLELiftingHead, RLELoss
from tests.helpers import randomise_

K, C = 5, 16  # joints predicted (root removed from 6), feature channels
RNG = np.random.default_rng(0)
TARGET_MEAN = RNG.normal(0, 0.2, size=(K, 3)).round(4).tolist()
TARGET_STD = RNG.uniform(0.05, 0.3, size=(K, 3)).round(4).tolist()
IMAGE_CODEC = dict(
    type='ImagePoseLifting',
    num_keypoints=K + 1,
    root_index=0,
    remove_root=True,
    target_mean=TARGET_MEAN,
    target_std=TARGET_STD,
)
VIDEO_CODEC = dict(type='VideoPoseLifting', num_keypoints=K, zero_center=True, root_index=0)


def samples(batch: int, joints: int = K, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        sample = PoseDataSample(
            metainfo=dict(
                target_root=torch.randn(1, 3, generator=gen).numpy(),
                target_img_path=['S1_Walk.00001_000001.jpg'],
            )
        )
        sample.gt_instance_labels = InstanceData(
            lifting_target_label=torch.randn(1, joints, 3, generator=gen),
            lifting_target_weight=(torch.rand(1, joints, generator=gen) > 0.2).float(),
        )
        out.append(sample)
    return out


def make_head(decoder=IMAGE_CODEC, **kwargs) -> RLELiftingHead:
    head = RLELiftingHead(in_channels=C, num_joints=K, decoder=decoder, **kwargs)
    head.init_weights()
    randomise_(head.loss_module.flow_model, std=0.1)
    return head.eval()


def feats(batch: int = 3, seed: int = 1):
    return (torch.randn(batch, C, 1, generator=torch.Generator().manual_seed(seed)),)


def test_label_scale_is_a_two_metre_cube():
    assert make_head(VIDEO_CODEC).label_scale == pytest.approx(2.0)  # metres
    head = make_head(IMAGE_CODEC)  # standard deviations
    assert head.label_scale == pytest.approx(2.0 / np.mean(TARGET_STD))
    np.testing.assert_allclose(
        head.sigma_scale_mm(), 2000 * np.array(TARGET_STD) / np.mean(TARGET_STD)
    )


def test_coordinates_have_mmposes_layout():
    ours = make_head()
    theirs = TemporalRegressionHead(in_channels=C, num_joints=K)
    theirs.conv.load_state_dict(ours.conv.state_dict())
    x = feats()
    torch.testing.assert_close(ours(x)[..., :3], theirs(x))


@pytest.mark.parametrize('codec', [IMAGE_CODEC, VIDEO_CODEC], ids=['image', 'video'])
def test_decode_equals_mmposes_head_and_codec(codec):
    """Our keypoints are MMPose's TemporalRegressionHead's when its layer outputs our
    μ̂ in label units, and the codec's own decode of them."""
    ours = make_head(codec)
    theirs = TemporalRegressionHead(in_channels=C, num_joints=K, decoder=codec)
    with torch.no_grad():
        theirs.conv.weight.copy_(ours.conv.weight * ours.label_scale)
        theirs.conv.bias.copy_(ours.conv.bias * ours.label_scale)
    x, batch = feats(), samples(3)
    with torch.no_grad():
        preds = ours.predict(x, batch)
        reference = theirs.predict(x, batch)
        mu = ours(x)[..., :3].numpy() * ours.label_scale
    codec_obj = KEYPOINT_CODECS.build(codec)
    # the video codec keeps the root with the label 0: ours predicts exactly that
    rest = slice(1, None) if codec is VIDEO_CODEC else slice(None)
    for i, (pred, ref) in enumerate(zip(preds, reference)):
        np.testing.assert_allclose(
            pred.keypoints[:, rest], ref.keypoints[:, rest], rtol=1e-5, atol=1e-5
        )
        root = batch[i].metainfo['target_root'][None]
        expected, _ = codec_obj.decode(mu[i : i + 1], root)
        np.testing.assert_allclose(pred.keypoints[:, rest], expected[:, rest], rtol=1e-5, atol=1e-5)
        assert pred.keypoint_sigmas.shape == pred.keypoints.shape
        if codec is VIDEO_CODEC:  # decoded as every joint: label + target_root
            np.testing.assert_allclose(pred.keypoints[:, 0], root.reshape(1, 3), rtol=1e-6)
            assert (pred.keypoint_sigmas[:, 0] == 0).all()


@pytest.mark.parametrize('codec', [IMAGE_CODEC, VIDEO_CODEC], ids=['image', 'video'])
def test_keypoint_sigmas_are_millimetres(codec):
    head = make_head(codec)
    x = feats()
    with torch.no_grad():
        preds = head.predict(x, samples(3))
        logits = head(x)[..., 3:]
    rms = logits.sigmoid() * head.loss_module.eval().residual_rms()
    std = np.array(TARGET_STD) if codec is IMAGE_CODEC else np.ones((K, 3))
    expected = rms.numpy() * head.label_scale * std * 1000.0
    for pred, exp in zip(preds, expected):
        sigmas = pred.keypoint_sigmas[0]
        assert (sigmas[0] == 0).all()  # the root is known exactly (put back or pinned)
        if codec is IMAGE_CODEC:
            sigmas = sigmas[1:]
        else:
            sigmas, exp = sigmas[1:], exp[1:]
        np.testing.assert_allclose(sigmas, exp, rtol=1e-5)


def test_sigma_calibration_scales_the_reported_sigmas():
    head = make_head(VIDEO_CODEC)
    x, batch = feats(), samples(3)
    with torch.no_grad():
        before = head.predict(x, batch)[0].keypoint_sigmas
        head.sigma_calibration.set_(torch.full((K, 3), math.log(3.0)))
        after = head.predict(x, batch)[0].keypoint_sigmas
    np.testing.assert_allclose(after, 3 * before, rtol=1e-5)


def test_basic_design_decodes_the_flows_point_prediction():
    head = make_head(VIDEO_CODEC, loss=dict(type='mmpose_rle.RLELoss', design='basic'))
    randomise_(head.loss_module.flow_model, std=0.1)
    x, batch = feats(), samples(3)
    with torch.no_grad():
        mu = head(x)[..., :3]
        pushed = head.loss_module.flow_model(mu.reshape(-1, 3))[0].reshape(mu.shape)
        preds = head.predict(x, batch)
    expected = pushed[0].numpy() * 2.0 + batch[0].metainfo['target_root']
    expected[0] = batch[0].metainfo['target_root']  # the root's label is 0 (pinned)
    np.testing.assert_allclose(preds[0].keypoints[0], expected, rtol=1e-5, atol=1e-5)


def test_loss_is_rle_loss_on_labels_in_cube_units():
    head = make_head(IMAGE_CODEC).train()
    x, batch = feats(4), samples(4)
    losses = head.loss(x, batch)
    out = head(x)
    labels = torch.cat([s.gt_instance_labels.lifting_target_label for s in batch])
    weights = torch.cat([s.gt_instance_labels.lifting_target_weight for s in batch])
    expected = head.loss_module(out[..., :3], out[..., 3:], labels / head.label_scale, weights)
    torch.testing.assert_close(losses['loss_pose3d'], expected)
    err = np.linalg.norm(out[..., :3].detach().numpy() * head.label_scale - labels.numpy(), axis=-1)
    assert losses['mpjpe'].item() == pytest.approx(err[weights.numpy() > 0].mean(), rel=1e-5)
    assert set(losses) == {'loss_pose3d', 'mpjpe', 'nll', 'sigma_mean'}
    losses['loss_pose3d'].backward()
    assert head.conv.weight.grad.abs().sum() > 0 and head.conv_sigma.weight.grad.abs().sum() > 0


def test_default_loss_is_rle_loss_with_a_3d_flow():
    head = RLELiftingHead(in_channels=C, num_joints=K)
    assert head.loss_module.formulation == 'mmpose' and head.loss_module.flow_model.dim == 3
    head = RLELiftingHead(C, K, loss=dict(type='mmpose_rle.RLELoss', q_distribution='gaussian'))
    assert head.loss_module.flow_model.dim == 3
    assert isinstance(head.loss_module, RLELoss)


def test_sigma_init_sets_the_sigma_biases():
    head = RLELiftingHead(C, K, sigma_init=0.1)
    head.init_weights()
    torch.testing.assert_close(head.conv_sigma.bias.sigmoid(), torch.full((K * 3,), 0.1))


def test_non_finite_labels_are_masked_with_a_warning():
    head = make_head(VIDEO_CODEC).train()
    batch = samples(2)
    batch[1].gt_instance_labels.lifting_target_label[0, 2, 1] = float('nan')
    with pytest.warns(UserWarning, match='masked 1 keypoint'):
        losses = head.loss(feats(2), batch)
    assert torch.isfinite(losses['loss_pose3d'])


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(loss=dict(type='mmpose_rle.RLELoss', flow=dict(type='mmpose_rle.RealNVP'))), '3-D'),
        (dict(cube_mm=0.0), 'positive'),
        (
            dict(
                decoder=dict(
                    IMAGE_CODEC,
                    num_keypoints=K,
                    target_mean=TARGET_MEAN[:-1],
                    target_std=TARGET_STD[:-1],
                )
            ),
            'target_std for 4 joints',
        ),
    ],
)
def test_bad_settings_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RLELiftingHead(in_channels=C, num_joints=K, **kwargs)


def test_bad_inputs_raise_clear_errors():
    head = make_head(VIDEO_CODEC)
    with pytest.raises(ValueError, match='receptive field'):
        head((torch.zeros(2, C, 27),))
    with pytest.raises(ValueError, match='num_joints=5'):
        head.loss(feats(2), samples(2, joints=K + 1))
    with pytest.raises(ValueError, match='flip_test'):
        head.predict(feats(2), samples(2), test_cfg=dict(flip_test=True))


def test_a_root_pinned_by_the_codec_is_left_out_of_the_loss():
    """VideoPoseLifting keeps the root with the label 0 in every sample: its outputs must
    not change the loss (else its σ̂ would shrink without bound), the others' must."""
    head = make_head(VIDEO_CODEC).train()
    assert head.fixed_root() == 0 and make_head(IMAGE_CODEC).fixed_root() is None
    batch = samples(3)
    labels, weights = head.labels_and_weights(batch)
    given = torch.cat([d.gt_instance_labels.lifting_target_weight for d in batch])
    assert (weights[:, 0] == 0).all() and torch.equal(weights[:, 1:], given[:, 1:])
    x = feats()
    with torch.no_grad():
        out = head(x)
    bumped = out.clone()
    bumped[:, 0] += torch.tensor([0.3, -0.2, 0.1, -4.0, 3.0, 2.0])  # root μ̂ and σ logits
    base = head.rle_losses(out, labels / head.label_scale, weights)['loss_kpt']
    root = head.rle_losses(bumped, labels / head.label_scale, weights)['loss_kpt']
    assert torch.equal(base, root)
    bumped[:, 1:, 0] += 0.3
    other = head.rle_losses(bumped, labels / head.label_scale, weights)['loss_kpt']
    assert not torch.equal(base, other)
