"""YOLOXPoseRLEHead: the RLE term against an independent computation on MMPose's
assignment, MMPose's predictions unchanged, σ in pixels, scores and arguments."""

import numpy as np
import pytest
import torch
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead

from mmpose_rle.registry import MODELS

from .yoloxpose_fixtures import SIZE, STRIDES, K, build_head, features, flat, samples


def _priors():
    """``(N, 4)``: x, y, stride, stride of every prior (MlvlPointGenerator, offset 0)."""
    rows = []
    for s in STRIDES:
        n = SIZE // s
        ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing='ij')
        xy = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1).float() * s
        rows.append(torch.cat([xy, torch.full((n * n, 2), float(s))], -1))
    return torch.cat(rows)


def _rle_inputs(head, feats, batch, unit='instance'):
    """``pred, logits, label (P, K, 2)`` and ``weights (P, K)`` of the positive priors, from
    the module's raw outputs and MMPose's own assignment."""
    cls, obj, bbox, kpt, vis, sig = head.head_module(feats)
    priors = _priors()
    stride = priors[:, 2:3]
    boxes = flat(bbox)
    xy, wh = boxes[..., :2] * stride + priors[:, :2], boxes[..., 2:].exp() * stride
    decoded = torch.cat([xy - wh / 2, xy + wh / 2], -1)
    kpts = flat(kpt).reshape(len(batch), -1, K, 2) * stride[:, None] + priors[:, None, :2]
    targets = YOLOXPoseHead._get_targets(
        head,
        priors,
        flat(cls).detach(),
        flat(obj).detach(),
        decoded.detach(),
        kpts.detach(),
        flat(vis).detach(),
        batch,
    )
    pos = targets[0]
    gt_boxes, gt_kpts, gt_vis = targets[4], targets[6], targets[8]
    centre = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    if unit == 'instance':
        size = ((gt_boxes[:, 2] - gt_boxes[:, 0]) * (gt_boxes[:, 3] - gt_boxes[:, 1])).sqrt()
    else:
        size = targets[11][:, 2]
    pred = (kpts.reshape(-1, K, 2)[pos] - centre[:, None]) / size[:, None, None]
    label = (gt_kpts - centre[:, None]) / size[:, None, None]
    logits = flat(sig).reshape(-1, K, 2)[pos]
    return pred, logits, label, gt_vis * head.joint_weights


def _expected_rle(head, feats, batch, unit='instance'):
    """The RLE term with the weights as they are, and the number of positive priors."""
    pred, logits, label, weights = _rle_inputs(head, feats, batch, unit)
    return head.loss_rle(pred, logits, label, weights[..., None]), len(pred)


@pytest.mark.parametrize('unit', ['instance', 'stride'])
def test_rle_term_matches_an_independent_computation(unit):
    head = build_head(residual_unit=unit, loss_rle_weight=0.5)
    feats, batch = features(), samples()
    losses = head.loss(feats, batch)
    expected, num_pos = _expected_rle(head, feats, batch, unit)
    assert num_pos > 0
    torch.testing.assert_close(losses['loss_rle'], 0.5 * expected)


def _metainfo(path, joint_weights):
    """A metainfo file of ``K`` unpaired keypoints with these ``joint_weights``."""
    info = dict(
        dataset_name='t',
        keypoint_info={i: dict(name=f'k{i}', id=i, color=[0, 0, 0], swap='') for i in range(K)},
        skeleton_info={},
        joint_weights=joint_weights,
        sigmas=[0.05] * K,
    )
    path.write_text(f'dataset_info = {info!r}\n')
    return str(path)


def test_keypoint_mean_is_each_instances_weighted_mean_over_its_keypoints(tmp_path):
    meta = _metainfo(tmp_path / 'meta.py', [2.0, 1.0, 0.0, 1.0, 0.5])
    head = build_head(metainfo=meta, keypoint_reduction='mean')
    feats, batch = features(), samples()
    loss = head.loss(feats, batch)['loss_rle']
    pred, logits, label, weights = _rle_inputs(head, feats, batch)
    per_instance = [  # the sum over one instance's keypoints, divided by its weights' sum
        head.loss_rle(pred[i : i + 1], logits[i : i + 1], label[i : i + 1], w[None, :, None])
        / w.sum()
        for i, w in enumerate(weights)
    ]
    assert len(per_instance) > 1
    torch.testing.assert_close(loss, torch.stack(per_instance).mean())
    summed = build_head(metainfo=meta).loss(feats, batch)['loss_rle']
    assert not torch.allclose(loss, summed)


def test_mmpose_losses_are_unchanged():
    ours, theirs = build_head(seed=3), build_head(rle=False, seed=3)
    missing = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not missing.missing_keys
    feats, batch = features(), samples()
    got, want = ours.loss(feats, batch), theirs.loss(feats, batch)
    assert set(got) - set(want) == {'loss_rle', 'sigma_mean'}
    for key, value in want.items():
        torch.testing.assert_close(got[key], value)


def test_gradients_reach_the_sigma_branch_and_skip_zero_weight_keypoints(tmp_path):
    head = build_head(metainfo=_metainfo(tmp_path / 'meta.py', [1.0, 1.0, 0.0, 1.0, 1.0]))
    losses = head.loss(features(), samples())
    losses['loss_rle'].backward()
    grad = head.head_module.out_kpt_sigma[0].weight.grad.reshape(K, 2, -1)
    assert grad[2].abs().max() == 0
    assert grad[[0, 1, 3, 4]].abs().sum() > 0


@pytest.mark.parametrize('detach', [False, True])
def test_keypoint_detach_stops_the_rle_gradient_at_the_keypoints(detach):
    """With ``keypoint_detach`` the RLE term's value is unchanged, it trains σ and the flow,
    and no gradient of it reaches the keypoint offsets."""
    head = build_head(seed=5, keypoint_detach=detach)
    reference = build_head(seed=5)
    feats = tuple(f.requires_grad_(True) for f in features())
    losses = head.loss(feats, samples())
    torch.testing.assert_close(
        losses['loss_rle'], reference.loss(features(), samples())['loss_rle']
    )
    losses['loss_rle'].backward()
    offsets = head.head_module.out_kpt[0].weight.grad
    assert (offsets is None or offsets.abs().max() == 0) == detach
    assert head.head_module.out_kpt_sigma[0].weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in head.loss_rle.parameters())


def test_no_instances_gives_a_zero_term_that_backpropagates():
    head = build_head()
    batch = samples(instances=0)
    losses = head.loss(features(), batch)
    assert float(losses['loss_rle']) == 0.0
    losses['loss_rle'].backward()
    assert head.head_module.out_kpt_sigma[0].weight.grad is not None


def test_predictions_equal_mmposes():
    ours, theirs = build_head(seed=4), build_head(rle=False, seed=4)
    theirs.load_state_dict(ours.state_dict(), strict=False)
    ours.eval(), theirs.eval()
    feats, batch = features(), samples()
    cfg = dict(score_thr=1e-6, nms_thr=0.65)  # initial scores are about 1e-4
    with torch.no_grad():
        got, want = ours.predict(feats, batch, cfg), theirs.predict(feats, batch, cfg)
    for g, w in zip(got, want):
        assert len(g) == len(w) > 0
        for key in ('bboxes', 'scores', 'labels', 'keypoints', 'keypoints_visible'):
            np.testing.assert_allclose(g.get(key), w.get(key), rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(g.keypoint_scores, w.keypoint_scores, atol=1e-6)
        assert g.keypoint_sigmas.shape == g.keypoints.shape


def _instances(head, **kw):
    gen = torch.Generator().manual_seed(5)
    n = 3
    corner = torch.rand(n, 2, generator=gen) * 20
    boxes = torch.cat([corner, corner + torch.tensor([[30.0, 20.0]])], -1)
    args = dict(
        metainfo=dict(input_size=(SIZE, SIZE), input_scale=np.array([128.0, 96.0])),
        scores=torch.rand(n, generator=gen),
        labels=torch.zeros(n, dtype=torch.long),
        bboxes=boxes,
        keypoints=torch.rand(n, K, 2, generator=gen) * 40,
        visibility=torch.rand(n, K, generator=gen),
        sigma=torch.rand(n, K, 2, generator=gen) * 0.3,
        strides=torch.tensor([8.0, 16.0, 32.0]),
    )
    args.update(kw)
    return args, head.instances(**args)


def test_sigmas_are_rms_times_the_instance_size_in_input_and_image_pixels():
    head = build_head().eval()
    args, out = _instances(head)
    s = head.residual_rms()
    expected = args['sigma'] * s * (30.0 * 20.0) ** 0.5
    np.testing.assert_allclose(out.keypoint_sigmas, expected.numpy(), rtol=1e-5)
    scale = np.array([128.0, 96.0]) / SIZE
    np.testing.assert_allclose(out.keypoint_sigmas_image, expected.numpy() * scale, rtol=1e-5)
    np.testing.assert_allclose(out.keypoints, args['keypoints'].numpy(), atol=1e-5)
    head.sigma_calibration.set_(torch.full((K, 2), 2.0).log())
    _, calibrated = _instances(head)
    np.testing.assert_allclose(calibrated.keypoint_sigmas, 2 * out.keypoint_sigmas, rtol=1e-5)


def test_stride_unit_scales_by_the_prior_stride():
    head = build_head(residual_unit='stride').eval()
    args, out = _instances(head)
    expected = args['sigma'] * head.residual_rms() * args['strides'][:, None, None]
    np.testing.assert_allclose(out.keypoint_sigmas, expected.numpy(), rtol=1e-5)


def test_basic_design_pushes_the_frame_through_the_flow():
    loss = dict(type='mmpose_rle.RLELoss', use_target_weight=True, design='basic')
    head = build_head(loss_rle=loss).eval()
    args, out = _instances(head)
    boxes = args['bboxes']
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = (30.0 * 20.0) ** 0.5
    frame = (args['keypoints'] - centre[:, None]) / size
    coords, _ = head.predictive(frame, args['sigma'])
    assert not torch.allclose(coords, frame)
    np.testing.assert_allclose(
        out.keypoints, (centre[:, None] + coords * size).numpy(), rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize('mode', ['visibility', 'sigma', 'product'])
def test_keypoint_scores(mode):
    head = build_head(keypoint_score=mode).eval()
    args, out = _instances(head)
    vis, conf = args['visibility'].numpy(), 1 - args['sigma'].mean(-1).numpy()
    want = {'visibility': vis, 'sigma': conf, 'product': vis * conf}[mode]
    np.testing.assert_allclose(out.keypoint_scores, want, rtol=1e-6)
    np.testing.assert_allclose(out.keypoints_visible, vis, rtol=1e-6)


@pytest.mark.parametrize(
    'kwargs, match',
    [
        (dict(residual_unit='cell'), 'residual_unit'),
        (dict(keypoint_score='peak'), 'keypoint_score'),
        (dict(sigma_init=1.5), 'sigma_init'),
        (dict(keypoint_reduction='max'), 'keypoint_reduction'),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_head(**kwargs)


def test_registered_in_our_scope_only():
    assert MODELS.get('mmpose_rle.YOLOXPoseRLEHead') is not None
    from mmpose.registry import MODELS as MMPOSE_MODELS

    assert 'YOLOXPoseRLEHead' not in MMPOSE_MODELS.module_dict


def test_prior_outputs_hold_what_predict_selects():
    head = build_head(seed=6).eval()
    feats, batch = features(), samples()
    with torch.no_grad():
        out = head.prior_outputs(feats)
        pred = head.predict(feats, batch, dict(score_thr=1e-6, nms_thr=1.0))
    num_priors = sum((SIZE // s) ** 2 for s in STRIDES)
    assert out.keypoints.shape == (2, num_priors, K, 2) and out.sigma.shape == out.keypoints.shape
    order = out.scores[0, :, 0].argsort(descending=True)
    torch.testing.assert_close(torch.as_tensor(pred[0].scores), out.scores[0, order, 0])
    boxes = head.clamp_boxes(out.bboxes[0, order], (SIZE, SIZE))
    _, sigmas = head.keypoint_sigmas(
        boxes, out.keypoints[0, order], out.sigma[0, order], out.strides[order]
    )
    torch.testing.assert_close(torch.as_tensor(pred[0].keypoint_sigmas), sigmas)


def test_outputs_are_kept_only_while_the_loss_runs():
    head = build_head()
    feats = features()
    head.forward(feats)
    assert head._pending is None  # inference keeps no maps alive
    head.loss(feats, samples())
    assert head._pending is None


@pytest.mark.parametrize('unit', ['instance', 'stride'])
def test_predictions_carry_their_instance_sizes(unit):
    head = build_head(residual_unit=unit).eval()
    args, out = _instances(head)
    want = args['strides'] if unit == 'stride' else torch.full((3,), (30.0 * 20.0) ** 0.5)
    np.testing.assert_allclose(out.instance_sizes, want.numpy(), rtol=1e-6)
