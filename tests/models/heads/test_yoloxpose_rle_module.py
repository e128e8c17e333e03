"""YOLOXPoseRLEHeadModule: MMPose's outputs unchanged, plus σ logits from the pose features."""

import math

import pytest
import torch
from mmengine.model import initialize
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHeadModule
from torch import nn

from mmpose_rle.models.heads import YOLOXPoseRLEHeadModule
from mmpose_rle.models.heads.yoloxpose_rle_module import PointwiseConv

ARGS = dict(
    num_keypoints=3, in_channels=8, feat_channels=8, stacked_convs=1, featmap_strides=[8, 16]
)


def _feats():
    gen = torch.Generator().manual_seed(0)
    return (torch.randn(2, 8, 8, 8, generator=gen), torch.randn(2, 8, 4, 4, generator=gen))


def test_first_five_outputs_are_mmposes_and_sigma_reads_the_pose_features():
    torch.manual_seed(0)
    ours = YOLOXPoseRLEHeadModule(**ARGS).eval()
    theirs = YOLOXPoseHeadModule(**ARGS).eval()
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert result.missing_keys == [] and all('out_kpt_sigma' in k for k in result.unexpected_keys)
    feats = _feats()
    with torch.no_grad():
        got, want = ours(feats), theirs(feats)
        assert len(got) == 6
        for g_list, w_list in zip(got[:5], want):
            for g, w in zip(g_list, w_list):
                torch.testing.assert_close(g, w)
        for level, feat in enumerate(feats):
            pose = ours.conv_pose[level](feat)
            expected = ours.out_kpt_sigma[level](pose)
            assert got[5][level].shape == (2, 6, *feat.shape[2:])
            torch.testing.assert_close(got[5][level], expected)


def test_sigma_init_sets_the_biases():
    module = YOLOXPoseRLEHeadModule(**ARGS, sigma_init=0.2)
    module.init_weights()
    for conv in module.out_kpt_sigma:
        torch.testing.assert_close(conv.bias, torch.full((6,), math.log(0.2 / 0.8)))


def test_sigma_init_outside_the_unit_interval_raises():
    with pytest.raises(ValueError, match='sigma_init'):
        YOLOXPoseRLEHeadModule(**ARGS, sigma_init=0.0)


def test_pointwise_conv_is_a_one_by_one_convolution_that_conv_inits_pass_by():
    layer = PointwiseConv(6, 4)
    assert layer.weight.shape == (4, 6, 1, 1) and layer.bias.shape == (4,)
    x = torch.randn(2, 6, 5, 3)
    reference = nn.Conv2d(6, 4, 1)
    reference.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x), reference(x))
    before = layer.weight.detach().clone()
    initialize(nn.Sequential(layer), dict(type='Kaiming', layer='Conv2d'))
    assert torch.equal(layer.weight, before)


@pytest.mark.parametrize('detach', [False, True])
def test_sigma_detach_stops_the_sigma_gradient_at_the_pose_features(detach):
    torch.manual_seed(0)
    module = YOLOXPoseRLEHeadModule(**ARGS, sigma_detach=detach)
    torch.manual_seed(0)
    plain = YOLOXPoseRLEHeadModule(**ARGS)
    plain.load_state_dict(module.state_dict())
    feats = tuple(f.requires_grad_() for f in _feats())
    sigma = module(feats)[5]
    for got, want in zip(sigma, plain(feats)[5]):
        torch.testing.assert_close(got, want)  # the forward pass is unchanged
    grads = torch.autograd.grad(
        sum(s.square().sum() for s in sigma),
        [*feats, module.conv_pose[0][0].conv.weight, module.out_kpt_sigma[0].weight],
        allow_unused=True,
    )
    upstream, sigma_weight = grads[:-1], grads[-1]
    assert sigma_weight is not None and sigma_weight.abs().sum() > 0
    reached = [g is not None and g.abs().sum() > 0 for g in upstream]
    assert reached == [not detach] * len(upstream)
