"""RLEHead: identical to MMPose's where they overlap (MMPose's own tests of its head
restated for ours), the basic design at predict time, sigmas in the predictions and clear
errors."""

from collections import OrderedDict

import pytest
import torch
from mmengine.structures import InstanceData
from mmpose.models.heads import RLEHead as MMPoseRLEHead
from mmpose.testing import get_packed_inputs
from torch import nn

from mmpose_rle.models import RLEHead, RLELoss
from tests.helpers import randomise_

C, K = 32, 17
CODEC = dict(type='RegressionLabel', input_size=(192, 256))


def samples(batch_size=3, num_keypoints=K):
    return get_packed_inputs(
        batch_size, num_keypoints=num_keypoints, with_heatmap=False, with_simcc_label=False
    )['data_samples']


def feats(batch_size=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch_size, C, generator=gen),)


def mmpose_head() -> MMPoseRLEHead:
    head = MMPoseRLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    head.init_weights()
    with torch.no_grad():
        # ordinary outputs: coordinates near the targets' range, moderate sigma logits
        head.fc.weight.normal_(0, 0.05)
        head.fc.bias.normal_(0, 0.1)
        head.fc.bias.view(K, 4)[:, :2] += 0.5
    randomise_(head.loss_module.flow_model, std=0.2)
    return head


def ours_like(theirs: MMPoseRLEHead, **kwargs) -> RLEHead:
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC, **kwargs)
    head.load_state_dict(theirs.state_dict(), strict=True)
    return head


def assert_same_preds(a, b):
    assert len(a) == len(b)
    for pa, pb in zip(a, b):
        torch.testing.assert_close(pa.keypoints, pb.keypoints, rtol=0, atol=0)
        torch.testing.assert_close(pa.keypoint_scores, pb.keypoint_scores, rtol=0, atol=0)


@pytest.mark.parametrize('flip_test', [False, True])
def test_predictions_equal_mmpose(flip_test):
    theirs = mmpose_head()
    ours = ours_like(theirs)
    data = samples()
    x = [feats(), feats(seed=1)] if flip_test else feats()
    cfg = dict(flip_test=flip_test, shift_coords=True)
    with torch.no_grad():
        assert_same_preds(ours.predict(x, data, cfg), theirs.predict(x, data, cfg))


def test_losses_equal_mmpose():
    theirs = mmpose_head()
    ours = ours_like(theirs)
    data = samples()
    lo, lt = ours.loss(feats(), data), theirs.loss(feats(), data)
    assert set(lo) == {'loss_kpt', 'acc_pose', 'nll', 'sigma_mean'}
    torch.testing.assert_close(lo['loss_kpt'], lt['loss_kpt'], rtol=0, atol=0)
    torch.testing.assert_close(lo['acc_pose'], lt['acc_pose'])
    # the logs: loss per visible keypoint and mean sigma of the visible keypoints
    weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in data])
    n = len(weights)
    torch.testing.assert_close(lo['nll'], lo['loss_kpt'].detach() * n / (weights > 0).sum())
    sigma = ours.forward(feats())[..., 2:].sigmoid().mean(-1)
    torch.testing.assert_close(lo['sigma_mean'], sigma[weights > 0].mean())


def test_default_loss_is_ours():
    head = RLEHead(in_channels=C, num_joints=K)
    assert isinstance(head.loss_module, RLELoss) and head.loss_module.use_target_weight


class _Wrapper(nn.Module):
    """A parent whose attribute name ('lo') is made of characters of 'loss.'."""

    def __init__(self, head):
        super().__init__()
        self.lo = head


@pytest.mark.parametrize('nested', [False, True])
def test_pre_v1_state_dict_with_loss_prefix_loads_strictly(nested):
    theirs = mmpose_head()
    old = OrderedDict(
        (k.replace('loss_module.', 'loss.'), v) for k, v in theirs.state_dict().items()
    )  # no version metadata
    assert any(k.startswith('loss.flow_model.') for k in old)
    ours = RLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    if nested:
        _Wrapper(ours).load_state_dict(
            OrderedDict(('lo.' + k, v) for k, v in old.items()), strict=True
        )
    else:
        ours.load_state_dict(old, strict=True)
    data = samples()
    with torch.no_grad():
        assert_same_preds(ours.predict(feats(), data), theirs.predict(feats(), data))
    torch.testing.assert_close(
        ours.loss(feats(), data)['loss_kpt'], theirs.loss(feats(), data)['loss_kpt']
    )


def test_keypoint_sigmas_are_rms_errors_in_input_pixels():
    head = ours_like(mmpose_head())
    data = samples()
    with torch.no_grad():
        out = head.forward(feats())
        preds = head.predict(feats(), data)
    sigma_hat = out[..., 2:].sigmoid()
    rms = head.loss_module.residual_rms()
    assert rms.shape == (2,) and (rms > 0).all()
    sigma = (sigma_hat * rms).numpy() * [192, 256]
    for i, pred in enumerate(preds):
        assert pred.keypoint_sigmas.shape == (1, K, 2)
        torch.testing.assert_close(
            torch.from_numpy(pred.keypoint_sigmas[0]), torch.from_numpy(sigma[i]).float()
        )
        scores = 1 - sigma_hat[i].mean(-1)
        torch.testing.assert_close(
            torch.from_numpy(pred.keypoint_scores[0]), scores, rtol=0, atol=1e-6
        )


def test_basic_design_pushes_prediction_through_the_flow():
    head = RLEHead(
        in_channels=C,
        num_joints=K,
        decoder=CODEC,
        loss=dict(type='mmpose_rle.RLELoss', design='basic', use_target_weight=True),
    )
    randomise_(head, std=0.2)
    data = samples()
    with torch.no_grad():
        mu = head.forward(feats())[..., :2]
        pushed = head.loss_module.flow_model(mu.reshape(-1, 2))[0].reshape(mu.shape)
        preds = head.predict(feats(), data)
    assert (pushed - mu).abs().max() > 1e-3
    for i, pred in enumerate(preds):
        torch.testing.assert_close(
            torch.from_numpy(pred.keypoints[0]).float(), pushed[i] * torch.tensor([192.0, 256.0])
        )


def test_num_joints_mismatch_raises():
    head = RLEHead(in_channels=C, num_joints=K)
    with pytest.raises(ValueError, match='data set has 5 keypoints.*num_joints=17'):
        head.loss(feats(), samples(num_keypoints=5))


def test_flip_indices_length_mismatch_raises():
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    data = samples()
    data[0].set_metainfo(dict(flip_indices=list(range(K - 1))))
    with pytest.raises(ValueError, match='flip_indices has 16 entries'):
        head.predict([feats(), feats()], data, dict(flip_test=True))


def test_sigma_init_sets_initial_sigma_only():
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC, sigma_init=0.1)
    head.init_weights()
    out = head.forward((torch.zeros(2, C),))
    torch.testing.assert_close(
        out[..., 2:].sigmoid(), torch.full((2, K, 2), 0.1), rtol=0, atol=1e-6
    )
    assert (out[..., :2] == 0).all()  # the coordinates keep init_cfg's zero bias
    default = RLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    default.init_weights()
    assert (default.forward((torch.zeros(2, C),)) == 0).all()


def test_sigma_init_out_of_range_raises():
    with pytest.raises(ValueError, match='sigma_init must lie in'):
        RLEHead(in_channels=C, num_joints=K, sigma_init=1.0)


# MMPose's own tests of its RLEHead (tests/test_models/test_heads/test_regression_heads/
# test_rle_head.py), restated for ours: it must serve as a drop-in.


def test_mmpose_init_contract():
    head = RLEHead(in_channels=1024, num_joints=17)
    assert head.fc.weight.shape == (17 * 4, 1024) and head.decoder is None
    assert RLEHead(in_channels=1024, num_joints=17, decoder=CODEC).decoder is not None


@pytest.mark.parametrize('flip_test', [False, True])
def test_mmpose_predict_contract(flip_test):
    head = RLEHead(in_channels=32, num_joints=17, decoder=CODEC)
    x = [torch.rand(2, 32, 1, 1)]
    data = get_packed_inputs(batch_size=2, with_heatmap=False)['data_samples']
    preds = head.predict([x, x] if flip_test else x, data, test_cfg=dict(flip_test=flip_test))
    assert len(preds) == 2 and isinstance(preds[0], InstanceData)
    assert preds[0].keypoints.shape == data[0].gt_instances.keypoints.shape


def test_mmpose_loss_contract():
    head = RLEHead(in_channels=32, num_joints=17)
    data = get_packed_inputs(batch_size=2, with_heatmap=False)['data_samples']
    losses = head.loss([torch.rand(2, 32, 1, 1)], data)
    assert isinstance(losses['loss_kpt'], torch.Tensor) and losses['loss_kpt'].shape == ()
    assert isinstance(losses['acc_pose'], torch.Tensor)


def test_mmpose_old_state_dict_contract():
    """MMPose's zero-filled pre-1.0 state dict (``loss.flow_model.*``) loads strictly."""
    head = RLEHead(in_channels=2048, num_joints=17)
    flow = {k: torch.zeros_like(v) for k, v in head.loss_module.flow_model.state_dict().items()}
    state = {
        'fc.weight': torch.zeros(17 * 4, 2048),
        'fc.bias': torch.zeros(17 * 4),
        **{'loss.flow_model.' + k: v for k, v in flow.items()},
    }
    assert len(state) == 2 + 3 + 2 * 6 * 6  # fc, the buffers, s and t of six couplings
    head.load_state_dict(state, strict=True)
    assert (head.fc.weight == 0).all()
