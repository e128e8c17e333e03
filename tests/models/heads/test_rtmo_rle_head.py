"""RTMORLEHead: MMPose's RTMO losses and predictions unchanged, the RLE term against an
independent computation on MMPose's assignment, σ of the kept priors in pixels."""

import numpy as np
import pytest
import torch
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.utils import register_all_modules
from torch.nn import functional as F

from mmpose_rle.registry import MODELS

from .rtmo_fixtures import K, features, flat, head_cfg, priors, samples

OURS = 'mmpose_rle.RTMORLEHead'
# every prior, best first (RTMOHead.predict needs an NMS threshold below 1)
TEST_CFG = dict(score_thr=0.0, nms_thr=0.999)


def _build(head_type: str = OURS, seed: int = 0, **overrides):
    register_all_modules()
    torch.manual_seed(seed)
    head = MODELS.build(head_cfg(head_type, **overrides))
    head.init_weights()
    return head


def _pair(seed: int = 0, **overrides):
    """Ours and MMPose's RTMOHead with the same shared weights."""
    ours, theirs = _build(seed=seed, **overrides), _build('RTMOHead', seed=seed)
    result = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not result.missing_keys
    return ours, theirs


def _sigma_logits(head, pose_maps):
    """``(B, N, K, 2)`` σ logits: each level's 1×1 convolution written as ``F.conv2d``."""
    maps = [F.conv2d(x, c.weight, c.bias) for c, x in zip(head.out_kpt_sigma, pose_maps)]
    logits = flat(maps)
    return logits.reshape(*logits.shape[:2], K, 2)


def test_mmpose_losses_are_unchanged():
    ours, theirs = _pair(seed=3)
    feats, batch = features(), samples()
    got, want = ours.loss(feats, batch), theirs.loss(feats, batch)
    assert set(got) - set(want) == {'loss_rle', 'sigma_mean'}
    for key, value in want.items():
        torch.testing.assert_close(got[key], value)


def test_rle_term_matches_an_independent_computation():
    head = _build(seed=1, loss_rle_weight=0.5)
    feats, batch = features(), samples()
    losses = head.loss(feats, batch)
    cls, bbox, offsets, vis, pose = head.head_module(feats)
    grid = priors()
    stride = grid[:, 2:3]
    boxes = flat(bbox)
    xy, wh = boxes[..., :2] * stride + grid[:, :2], boxes[..., 2:].exp() * stride
    decoded = torch.cat([xy - wh / 2, xy + wh / 2], -1)
    kpts = flat(offsets).reshape(2, -1, K, 2) * stride[:, None] + grid[:, None, :2]
    objectness = torch.full_like(flat(cls), 1e4)  # RTMO assigns without objectness
    targets = YOLOXPoseHead._get_targets(
        head,
        grid,
        flat(cls).detach(),
        objectness,
        decoded.detach(),
        kpts.detach(),
        flat(vis).detach(),
        batch,
    )
    pos, gt_boxes, gt_kpts, gt_vis = targets[0], targets[4], targets[6], targets[8]
    assert pos.sum() > 0
    centre = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    size = ((gt_boxes[:, 2:] - gt_boxes[:, :2]).prod(-1)).sqrt()[:, None, None]
    pred = (kpts.reshape(-1, K, 2)[pos] - centre[:, None]) / size
    label = (gt_kpts - centre[:, None]) / size
    logits = _sigma_logits(head, pose).reshape(-1, K, 2)[pos]
    expected = head.loss_rle(pred, logits, label, gt_vis[..., None])
    torch.testing.assert_close(losses['loss_rle'], 0.5 * expected)


def test_the_rle_gradient_reaches_the_offsets_and_the_sigma_branch():
    head = _build(seed=2)
    head.loss(features(), samples())['loss_rle'].backward()
    assert head.head_module.out_kpt_reg[0].weight.grad.abs().sum() > 0
    assert head.out_kpt_sigma[0].weight.grad.abs().sum() > 0
    assert head.head_module.out_pose[0].weight.grad.abs().sum() > 0


def test_sigma_detach_keeps_the_rle_gradient_off_the_pose_vectors():
    head = _build(seed=2, sigma_detach=True, keypoint_detach=True)
    head.loss(features(), samples())['loss_rle'].backward()
    grad = head.head_module.out_pose[0].weight.grad
    assert grad is None or grad.abs().max() == 0
    assert head.out_kpt_sigma[0].weight.grad.abs().sum() > 0


def test_predictions_equal_mmposes_with_sigma_of_their_priors():
    ours, theirs = _pair(seed=4)
    ours.eval(), theirs.eval()
    feats, batch = features(), samples()
    with torch.no_grad():
        got, want = ours.predict(feats, batch, TEST_CFG), theirs.predict(feats, batch, TEST_CFG)
        cls, _, _, _, pose = ours.head_module(feats)
        sigma = _sigma_logits(ours, pose).sigmoid()
    for image, (g, w) in enumerate(zip(got, want)):
        assert len(g) == len(w) == len(priors())
        for key in ('bboxes', 'scores', 'labels', 'keypoints', 'keypoint_scores'):
            np.testing.assert_allclose(g.get(key), w.get(key), rtol=1e-6, atol=1e-5)
        order = torch.argsort(flat(cls)[image, :, 0], descending=True)
        boxes = torch.as_tensor(w.bboxes)  # MMPose's, clamped to the input
        size = (boxes[:, 2:] - boxes[:, :2]).clamp_min(1).prod(-1).sqrt()
        expected = sigma[image, order] * ours.residual_rms() * size[:, None, None]
        np.testing.assert_allclose(g.keypoint_sigmas, expected.numpy(), rtol=1e-5)
        np.testing.assert_allclose(g.instance_sizes, size.numpy(), rtol=1e-6)


def test_no_kept_instance_gives_empty_predictions():
    head = _build().eval()
    with torch.no_grad():
        (out, _) = head.predict(features(), samples(), dict(score_thr=1.1))
    assert out.keypoints.shape == (0, K, 2) and out.keypoint_sigmas.shape == (0, K, 2)


def test_init_draws_mmposes_weights_as_without_the_rle_parts():
    ours, theirs = _build(seed=5), _build('RTMOHead', seed=5)
    for name, value in theirs.state_dict().items():
        assert torch.equal(value, ours.state_dict()[name]), name


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(loss_rle=dict(type='mmpose_rle.RLELoss', design='basic')), 'basic design'),
        (dict(sigma_init=0.0), 'sigma_init'),
        (dict(residual_unit='cell'), 'residual_unit'),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _build(**kwargs)


def test_sigma_init_sets_the_initial_sigma():
    head = _build(sigma_init=0.2)
    for conv in head.out_kpt_sigma:
        torch.testing.assert_close(conv.bias.sigmoid(), torch.full((2 * K,), 0.2))


def test_registered_in_our_scope_only():
    from mmpose.registry import MODELS as MMPOSE_MODELS

    register_all_modules()
    assert MODELS.get(OURS) is not None
    assert 'RTMORLEHead' not in MMPOSE_MODELS.module_dict
