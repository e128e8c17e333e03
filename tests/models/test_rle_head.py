"""RLEHead: identical to MMPose's where they overlap, plus the official head, the basic
design at predict time, sigmas in the predictions and clear errors."""
from collections import OrderedDict

import pytest
import torch
from mmpose.models.heads import RLEHead as MMPoseRLEHead
from mmpose.testing import get_packed_inputs
from torch import nn

from mmpose_rle.models import RLEHead, RLELoss

from tests.helpers import randomise_

C, K = 32, 17
CODEC = dict(type='RegressionLabel', input_size=(192, 256))


def samples(batch_size=3, num_keypoints=K):
    return get_packed_inputs(batch_size, num_keypoints=num_keypoints, with_heatmap=False,
                             with_simcc_label=False)['data_samples']


def feats(batch_size=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch_size, C, generator=gen), )


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
    old = OrderedDict((k.replace('loss_module.', 'loss.'), v)
                      for k, v in theirs.state_dict().items())  # no version metadata
    assert any(k.startswith('loss.flow_model.') for k in old)
    ours = RLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    if nested:
        _Wrapper(ours).load_state_dict(OrderedDict(('lo.' + k, v) for k, v in old.items()),
                                       strict=True)
    else:
        ours.load_state_dict(old, strict=True)
    data = samples()
    with torch.no_grad():
        assert_same_preds(ours.predict(feats(), data), theirs.predict(feats(), data))
    torch.testing.assert_close(ours.loss(feats(), data)['loss_kpt'],
                               theirs.loss(feats(), data)['loss_kpt'])


def test_keypoint_sigmas_are_rms_errors_in_input_pixels():
    head = ours_like(mmpose_head())
    data = samples()
    with torch.no_grad():
        out = head.forward(feats())
        preds = head.predict(feats(), data)
    sigma_hat = out[..., 2:].sigmoid()
    rms = head.loss_module.residual_rms()
    assert rms.shape == (2, ) and (rms > 0).all()
    sigma = (sigma_hat * rms).numpy() * [192, 256]
    for i, pred in enumerate(preds):
        assert pred.keypoint_sigmas.shape == (1, K, 2)
        torch.testing.assert_close(torch.from_numpy(pred.keypoint_sigmas[0]),
                                   torch.from_numpy(sigma[i]).float())
        scores = 1 - sigma_hat[i].mean(-1)
        torch.testing.assert_close(torch.from_numpy(pred.keypoint_scores[0]), scores,
                                   rtol=0, atol=1e-6)


def test_official_head_normalises_features_for_coordinates_only():
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC, fc_type='official')
    head.init_weights()
    keys = set(head.state_dict())
    assert {'fc_coord.weight', 'fc_coord.bias', 'fc_sigma.weight', 'fc_sigma.bias'} <= keys
    assert not any(k.startswith('fc.') for k in keys)
    x = feats()[0] * 7.0
    out = head.forward((x, ))
    w, b = head.fc_coord.weight, head.fc_coord.bias
    coords = (x @ w.t()) / x.norm(dim=1, keepdim=True) + b
    sigma = x @ head.fc_sigma.weight.t() + head.fc_sigma.bias
    torch.testing.assert_close(out[..., :2], coords.reshape(-1, K, 2))
    torch.testing.assert_close(out[..., 2:], sigma.reshape(-1, K, 2))
    # coordinates are invariant to the feature scale, sigmas are not
    out2 = head.forward((x * 3, ))
    torch.testing.assert_close(out2[..., :2], out[..., :2])
    assert not torch.allclose(out2[..., 2:], out[..., 2:])
    losses = head.loss((x, ), samples())
    assert torch.isfinite(losses['loss_kpt'])


def test_basic_design_pushes_prediction_through_the_flow():
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC,
                   loss=dict(type='mmpose_rle.RLELoss', design='basic',
                             use_target_weight=True))
    randomise_(head, std=0.2)
    data = samples()
    with torch.no_grad():
        mu = head.forward(feats())[..., :2]
        pushed = head.loss_module.flow_model(mu.reshape(-1, 2))[0].reshape(mu.shape)
        preds = head.predict(feats(), data)
    assert (pushed - mu).abs().max() > 1e-3
    for i, pred in enumerate(preds):
        torch.testing.assert_close(torch.from_numpy(pred.keypoints[0]).float(),
                                   pushed[i] * torch.tensor([192., 256.]))


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


@pytest.mark.parametrize('fc_type', ['mmpose', 'official'])
def test_sigma_init_sets_initial_sigma_only(fc_type):
    head = RLEHead(in_channels=C, num_joints=K, decoder=CODEC, fc_type=fc_type, sigma_init=0.1)
    head.init_weights()
    out = head.forward((torch.zeros(2, C) if fc_type == 'mmpose' else feats()[0], ))
    sigma_hat = out[..., 2:].sigmoid()
    atol = 1e-6 if fc_type == 'mmpose' else 0.01  # zero features: the bias alone
    torch.testing.assert_close(sigma_hat, torch.full_like(sigma_hat, 0.1), rtol=0, atol=atol)
    assert out[..., :2].abs().max() < 0.5  # the coordinates keep init_cfg's zero bias
    default = RLEHead(in_channels=C, num_joints=K, decoder=CODEC, fc_type=fc_type)
    default.init_weights()
    out = default.forward((torch.zeros(2, C) if fc_type == 'mmpose' else feats()[0], ))
    torch.testing.assert_close(out[..., 2:].sigmoid().mean(), torch.tensor(0.5), atol=0.01,
                               rtol=0)


def test_sigma_init_out_of_range_raises():
    with pytest.raises(ValueError, match='sigma_init must lie in'):
        RLEHead(in_channels=C, num_joints=K, sigma_init=1.0)


def test_invalid_fc_type_raises():
    with pytest.raises(ValueError, match='fc_type'):
        RLEHead(in_channels=C, num_joints=K, fc_type='deep')
