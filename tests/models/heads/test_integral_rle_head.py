"""IntegralRLEHead: soft-argmax against independent computations and MMPose's
IntegralRegressionHead, the σ branch, flip test, loss, registry and the two configs."""

import math

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.models.heads import HeatmapHead, IntegralRegressionHead
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.testing import get_packed_inputs

from mmpose_rle.models import BaseRLEHead, IntegralRLEHead, RLELoss
from tests.helpers import ROOT, randomise_

C, K = 16, 5
FMAP = (3, 4)  # (w, h) of the backbone features
INPUT = (48, 64)  # (w, h) of the model input
CODEC = dict(type='RegressionLabel', input_size=INPUT)
SMALL = dict(deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4))  # 12x16 heatmaps

R50_CONFIG = ROOT / (
    'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_integral-rle-8xb64-210e_coco-256x192.py'
)
INTEGRAL_QUICKSTART = ROOT / 'configs/quickstart/integral-rle_res18_synthetic-64x64.py'


def make_head(std: float = 0.6, **kwargs) -> IntegralRLEHead:
    """A head with random weights: the default init gives flat heatmaps (μ̂ ≈ 0.5)."""
    cfg = dict(in_channels=C, in_featuremap_size=FMAP, num_joints=K, decoder=CODEC, **SMALL)
    cfg.update(kwargs)
    head = IntegralRLEHead(**cfg)
    randomise_(head.simplebaseline_head, std=std)
    randomise_(head.fc_sigma, std=0.3, seed=1)
    randomise_(head.loss_module.flow_model, std=0.2, seed=2)
    return head.eval()


def feats(batch_size=3, seed=0, channels=C, size=FMAP):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch_size, channels, size[1], size[0], generator=gen),)


def samples(batch_size=3, num_keypoints=K):
    return get_packed_inputs(
        batch_size,
        num_keypoints=num_keypoints,
        img_shape=INPUT[::-1],
        input_size=INPUT,
        with_heatmap=False,
        with_simcc_label=False,
    )['data_samples']


def soft_argmax_reference(logits: np.ndarray, beta: float, offset) -> np.ndarray:
    """Plain loops over (b, k): softmax over all H·W positions, expected cell centre
    (``offset='pixel'``: the centre of cell j in input pixels is (j + ½)·stride − ½)."""
    B, N, H, W = logits.shape
    if offset == 'pixel':
        sx, sy = INPUT[0] / W, INPUT[1] / H
        gx = [((j + 0.5) * sx - 0.5) / INPUT[0] for j in range(W)]
        gy = [((i + 0.5) * sy - 0.5) / INPUT[1] for i in range(H)]
    else:
        gx = [(j + offset) / W for j in range(W)]
        gy = [(i + offset) / H for i in range(H)]
    out = np.zeros((B, N, 2))
    for b in range(B):
        for k in range(N):
            z = beta * logits[b, k].astype(np.float64)
            p = np.exp(z - z.max())
            p /= p.sum()
            for i in range(H):
                for j in range(W):
                    out[b, k, 0] += p[i, j] * gx[j]
                    out[b, k, 1] += p[i, j] * gy[i]
    return out


# ---------------------------------------------------------------- shapes and soft-argmax


@pytest.mark.parametrize(
    'deconvs,size', [((), FMAP), ((8,), (6, 8)), ((8, 8), (12, 16)), ((8, 8, 8), (24, 32))]
)
def test_shapes_and_heatmap_size(deconvs, size):
    head = make_head(deconv_out_channels=deconvs, deconv_kernel_sizes=(4,) * len(deconvs))
    assert head.heatmap_size == size
    assert isinstance(head, BaseRLEHead) and not hasattr(head, 'fc')
    with torch.no_grad():
        out = head.forward(feats())
        heatmaps = head.get_heatmaps(feats())
    assert out.shape == (3, K, 4)
    assert heatmaps.shape == (3, K, size[1], size[0])
    torch.testing.assert_close(heatmaps.sum((2, 3)), torch.ones(3, K))
    # a convex combination of the cell centres (j + 0.5) / W
    for c, n in ((0, size[0]), (1, size[1])):
        coord = out[..., c]
        assert (coord >= 0.5 / n - 1e-6).all() and (coord <= 1 - 0.5 / n + 1e-6).all()


def _identity_head(**kwargs) -> IntegralRLEHead:
    """No deconv, no final conv: the input features are the heatmap logits."""
    return IntegralRLEHead(
        in_channels=K,
        in_featuremap_size=(7, 5),
        num_joints=K,
        deconv_out_channels=None,
        final_layer=None,
        decoder=CODEC,
        **kwargs,
    ).eval()


@pytest.mark.parametrize('offset', [0.5, 0.0])
def test_peaked_heatmap_gives_the_pixel_centre(offset):
    head = _identity_head(grid_offset=offset)
    W, H = 7, 5
    pixels = [(0, 0), (4, 6), (2, 3), (1, 5), (3, 1)]  # (i, j) = (row, column) per keypoint
    logits = torch.zeros(2, K, H, W)
    for k, (i, j) in enumerate(pixels):
        logits[:, k, i, j] = 60.0
    with torch.no_grad():
        coords = head.forward((logits,))[..., :2]
    expected = torch.tensor([[(j + offset) / W, (i + offset) / H] for i, j in pixels])
    torch.testing.assert_close(coords, expected.expand(2, K, 2), rtol=0, atol=1e-6)


def test_uniform_heatmap_gives_the_centre():
    """The centre of a w-pixel input in MMPose's pixel-centre convention is (w − 1)/2;
    with grid_offset=0.5 it is w/2."""
    for offset, centre_px in (('pixel', (np.array(INPUT) - 1) / 2), (0.5, np.array(INPUT) / 2)):
        head = _identity_head(grid_offset=offset)
        with torch.no_grad():
            coords = head.forward((torch.full((2, K, 5, 7), 3.0),))[..., :2]
        expected = torch.tensor(centre_px / np.array(INPUT), dtype=torch.float32)
        torch.testing.assert_close(coords, expected.expand(2, K, 2), rtol=0, atol=1e-6)


@pytest.mark.parametrize('beta,offset', [(1.0, 'pixel'), (2.5, 0.5), (0.3, 0.0)])
def test_soft_argmax_equals_an_independent_computation(beta, offset):
    head = make_head(beta=beta, grid_offset=offset)
    x = feats()
    with torch.no_grad():
        logits = HeatmapHead.forward(head.simplebaseline_head, x)  # MMPose's forward
        coords = head.forward(x)[..., :2]
    expected = soft_argmax_reference(logits.numpy(), beta, offset)
    assert np.abs(expected - 0.5).max() > 0.05  # not a trivial, flat heatmap
    np.testing.assert_allclose(coords.numpy(), expected, rtol=0, atol=1e-6)


def test_readout_window_reads_the_cells_around_each_peak():
    head = make_head(readout_window=1)
    x = feats()
    with torch.no_grad():
        logits = HeatmapHead.forward(head.simplebaseline_head, x).numpy()
        coords = head.forward(x)[..., :2].numpy()
    B, N, H, W = logits.shape
    gx = [((j + 0.5) * INPUT[0] / W - 0.5) / INPUT[0] for j in range(W)]
    gy = [((i + 0.5) * INPUT[1] / H - 0.5) / INPUT[1] for i in range(H)]
    whole = soft_argmax_reference(logits, 1.0, 'pixel')
    for b in range(B):
        for k in range(N):
            pi, pj = np.unravel_index(logits[b, k].argmax(), (H, W))
            cells = [
                (i, j)
                for i in range(max(0, pi - 1), min(H, pi + 2))
                for j in range(max(0, pj - 1), min(W, pj + 2))
            ]
            weights = np.array(
                [math.exp(logits[b, k, i, j] - logits[b, k].max()) for i, j in cells]
            )
            weights /= weights.sum()
            expected = [
                sum(w * gx[j] for w, (_, j) in zip(weights, cells)),
                sum(w * gy[i] for w, (i, _) in zip(weights, cells)),
            ]
            np.testing.assert_allclose(coords[b, k], expected, rtol=0, atol=1e-6)
    assert np.abs(coords - whole).max() > 1e-3  # the window changed the read-out


@pytest.mark.parametrize('in_training', [False, True])
def test_readout_window_applies_in_training_only_when_asked(in_training):
    gen = torch.Generator().manual_seed(3)
    logits = (torch.randn(2, K, 5, 7, generator=gen) * 3,)
    windowed = _identity_head(readout_window=1, readout_window_in_training=in_training)
    whole = _identity_head()
    with torch.no_grad():
        eval_coords = windowed.forward(logits)[..., :2]
        train_coords = windowed.train().forward(logits)[..., :2]
        whole_coords = whole.forward(logits)[..., :2]
    assert (eval_coords - whole_coords).abs().max() > 1e-3
    torch.testing.assert_close(train_coords, eval_coords if in_training else whole_coords)


def test_beta_sharpens_towards_the_argmax():
    head = _identity_head(beta=1000.0)
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, K, 5, 7, generator=gen)
    with torch.no_grad():
        coords = head.forward((logits,))[..., :2]
    flat = logits.flatten(2).argmax(-1)
    i, j = flat // 7, flat % 7
    # the centre of the argmax cell in MMPose's pixel-centre convention
    half_pixel = 0.5 / torch.tensor(INPUT, dtype=torch.float32)
    expected = torch.stack([(j + 0.5) / 7, (i + 0.5) / 5], dim=-1) - half_pixel
    torch.testing.assert_close(coords, expected, rtol=0, atol=5e-3)


@pytest.mark.parametrize('offset', [0.0, 0.5])
def test_coordinates_equal_mmpose_integral_regression_head(offset):
    ours = make_head(grid_offset=offset)
    theirs = IntegralRegressionHead(in_channels=C, in_featuremap_size=FMAP, num_joints=K, **SMALL)
    missing, unexpected = theirs.load_state_dict(ours.state_dict(), strict=False)
    assert not [k for k in missing if not k.startswith('linspace')]
    assert all(
        k.startswith(('loss_module.', 'fc_sigma.', 'sigma_calibration.')) for k in unexpected
    )
    theirs.eval()
    with torch.no_grad():
        coords = ours.forward(feats())[..., :2]
        mm_coords, mm_heatmaps = theirs.forward(feats())
        heatmaps = ours.get_heatmaps(feats())
    # exp(log_softmax) (ours, for a stable dense loss) rounds differently from softmax
    torch.testing.assert_close(heatmaps, mm_heatmaps, rtol=1e-5, atol=1e-7)
    shift = torch.tensor([offset / 12, offset / 16])
    torch.testing.assert_close(coords, mm_coords + shift, rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------- σ branch


def test_sigma_from_pooled_backbone_features():
    head = make_head()
    x = feats()
    with torch.no_grad():
        out = head.forward(x)
    pooled = x[0].mean(dim=(2, 3))
    expected = pooled @ head.fc_sigma.weight.t() + head.fc_sigma.bias
    assert head.fc_sigma.in_features == C
    torch.testing.assert_close(out[..., 2:], expected.reshape(3, K, 2))


def test_sigma_from_heatmap_features():
    head = make_head(
        sigma_source='heatmap_features', deconv_out_channels=(8, 6), deconv_kernel_sizes=(4, 4)
    )
    assert head.fc_sigma.in_features == 6
    x = feats()
    with torch.no_grad():
        out = head.forward(x)
        features = head.simplebaseline_head.deconv_layers(x[0])
    assert features.shape[-2:] == (16, 12)
    expected = features.mean(dim=(2, 3)) @ head.fc_sigma.weight.t() + head.fc_sigma.bias
    torch.testing.assert_close(out[..., 2:], expected.reshape(3, K, 2))


# ------------------------------------------------------------------------------ predict


def test_predict_decodes_coordinates_scores_and_sigmas():
    head = make_head()
    data = samples()
    with torch.no_grad():
        out = head.forward(feats())
        preds = head.predict(feats(), data, dict(flip_test=False))
    sigma_hat = out[..., 2:].sigmoid()
    rms = head.loss_module.residual_rms()
    for b, pred in enumerate(preds):
        np.testing.assert_allclose(
            pred.keypoints[0], (out[b, :, :2] * torch.tensor(INPUT)).numpy(), rtol=1e-6, atol=1e-4
        )
        np.testing.assert_allclose(
            pred.keypoint_scores[0], (1 - sigma_hat[b].mean(-1)).numpy(), rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            pred.keypoint_sigmas[0], (sigma_hat[b] * rms).numpy() * np.array(INPUT), rtol=1e-5
        )


@pytest.mark.parametrize('shift', [True, False])
def test_flip_test_equals_the_manual_average(shift):
    head = make_head()
    data = samples()
    flip = data[0].metainfo['flip_indices']
    assert flip != list(range(K))  # a real permutation
    x, x_flip = feats(seed=0), feats(seed=1)
    with torch.no_grad():
        preds = head.predict([x, x_flip], data, dict(flip_test=True, shift_coords=shift))
        out, out_flip = head.forward(x), head.forward(x_flip)
    # un-flip by hand: swap left/right, mirror x in [0, 1] (minus one input pixel)
    out_flip = out_flip[:, flip]
    mirrored_x = 1.0 - out_flip[..., 0] - (1.0 / INPUT[0] if shift else 0.0)
    coords = (out[..., :2] + torch.stack([mirrored_x, out_flip[..., 1]], -1)) / 2
    sigma = (out[..., 2:].sigmoid() + out_flip[..., 2:].sigmoid()) / 2
    rms = head.loss_module.residual_rms()
    without = head.predict(x, data, dict(flip_test=False))
    for b, pred in enumerate(preds):
        np.testing.assert_allclose(
            pred.keypoints[0], (coords[b] * torch.tensor(INPUT)).numpy(), rtol=1e-6, atol=1e-4
        )
        np.testing.assert_allclose(
            pred.keypoint_scores[0], (1 - sigma[b].mean(-1)).numpy(), rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            pred.keypoint_sigmas[0], (sigma[b] * rms).numpy() * np.array(INPUT), rtol=1e-5
        )
        assert np.abs(pred.keypoints - without[b].keypoints).max() > 1e-2  # flip matters


@pytest.mark.parametrize('window', [None, 2])
def test_flip_test_of_exactly_mirrored_maps_is_the_single_view(window):
    """Maps that are exact mirrors (features as heatmap logits, flipped and with left and
    right swapped) give the same keypoints with and without the flip test: the pixel grid
    agrees with MMPose's mirror x' = w − 1 − x, also through a window around the peak."""
    head = make_head(
        in_channels=K,
        in_featuremap_size=None,
        deconv_out_channels=None,
        final_layer=None,
        readout_window=window,
    )
    data = samples()
    flip = data[0].metainfo['flip_indices']
    x = feats(channels=K, size=(12, 16))[0]
    x_flip = x.flip(-1)[:, np.argsort(flip)]  # channel flip[k] of the mirror is keypoint k
    with torch.no_grad():
        both = head.predict([(x,), (x_flip,)], data, dict(flip_test=True, shift_coords=True))
        single = head.predict((x,), data, dict(flip_test=False))
    for pred, ref in zip(both, single):
        assert np.abs(pred.keypoints - ref.keypoints).max() < 1e-4


# --------------------------------------------------------------------------------- loss


def test_loss_is_rle_loss_of_the_outputs_and_reaches_the_deconvs():
    head = make_head().train()
    data = samples()
    x = feats()
    losses = head.loss(x, data)
    assert {'loss_kpt', 'acc_pose'} <= set(losses)
    assert torch.isfinite(losses['loss_kpt'])
    labels = torch.cat([d.gt_instance_labels.keypoint_labels for d in data])
    weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in data])
    out = head.forward(x)
    expected = head.loss_module(out[..., :2], out[..., 2:], labels, weights.unsqueeze(-1))
    torch.testing.assert_close(losses['loss_kpt'], expected)
    losses['loss_kpt'].backward()
    sb = head.simplebaseline_head
    for name, param in [
        ('deconv 0', sb.deconv_layers[0].weight),
        ('deconv 1', sb.deconv_layers[3].weight),
        ('final conv', sb.final_layer.weight),
        ('fc_sigma', head.fc_sigma.weight),
    ]:
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_default_loss_is_ours_and_a_few_steps_fit_a_batch():
    head = IntegralRLEHead(
        in_channels=C, in_featuremap_size=FMAP, num_joints=K, decoder=CODEC, **SMALL
    )
    head.init_weights()
    assert isinstance(head.loss_module, RLELoss) and head.loss_module.use_target_weight
    data = samples(batch_size=4)
    x = feats(batch_size=4)
    labels = torch.cat([d.gt_instance_labels.keypoint_labels for d in data])
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)

    def error():
        with torch.no_grad():
            return (head.forward(x)[..., :2] - labels).abs().mean().item()

    before = error()
    for _ in range(60):
        opt.zero_grad()
        loss = head.loss(x, data)['loss_kpt']
        loss.backward()
        opt.step()
    assert error() < 0.5 * before


def test_outputs_are_float32_under_autocast():
    head = make_head()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = head.forward(feats())
    assert out.dtype == torch.float32
    with torch.no_grad():
        torch.testing.assert_close(out[..., :2], head.forward(feats())[..., :2], rtol=0, atol=0.02)


def test_num_joints_mismatch_raises():
    head = make_head()
    with pytest.raises(ValueError, match='data set has 3 keypoints.*num_joints=5'):
        head.loss(feats(), samples(num_keypoints=3))


# ------------------------------------------------------------------ state dicts, errors


def test_state_dict_round_trip_and_heatmap_head_checkpoint():
    head = make_head()
    copy = IntegralRLEHead(
        in_channels=C, in_featuremap_size=FMAP, num_joints=K, decoder=CODEC, **SMALL
    )
    copy.load_state_dict(head.state_dict(), strict=True)
    assert not any(k.startswith('grid_') for k in head.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(copy.eval().forward(feats()), head.forward(feats()))

    # a SimpleBaseline HeatmapHead checkpoint initialises the heatmap part
    heatmap_head = randomise_(HeatmapHead(in_channels=C, out_channels=K, **SMALL), seed=5)
    fresh = IntegralRLEHead(in_channels=C, in_featuremap_size=FMAP, num_joints=K, **SMALL)
    result = fresh.load_state_dict(heatmap_head.state_dict(), strict=False)
    assert not result.unexpected_keys
    assert all(k.startswith(('fc_sigma.', 'loss_module.')) for k in result.missing_keys)
    fresh.eval()
    heatmap_head.eval()
    with torch.no_grad():
        logits = heatmap_head.forward(feats())
        torch.testing.assert_close(
            fresh.get_heatmaps(feats()), logits.flatten(2).softmax(-1).reshape(logits.shape)
        )


def test_wrong_feature_map_size_raises():
    head = make_head()
    with pytest.raises(ValueError, match=r'in_featuremap_size=\(3, 4\).*GlobalAveragePooling'):
        head.forward(feats(size=(4, 4)))
    with pytest.raises(ValueError, match='GlobalAveragePooling neck'):
        head.forward((torch.randn(3, C),))  # pooled features: the neck was left in


def test_without_featuremap_size_the_grids_follow_the_maps():
    head = make_head(in_featuremap_size=None)
    assert head.heatmap_size is None
    sized = make_head()
    sized.load_state_dict(head.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(head.forward(feats()), sized.forward(feats()))
        assert head.forward(feats(size=(5, 2))).shape == (3, K, 4)  # any map size


@pytest.mark.parametrize(
    'kwargs,match',
    [
        (dict(sigma_source='logits'), 'sigma_source'),
        (dict(in_channels=[C, C]), 'in_channels must be an int'),
        (dict(final_layer=None), 'without final_layer.*num_joints=5.*got 8'),
        (dict(in_featuremap_size=(1, 2, 3)), 'in_featuremap_size'),
        (dict(readout_window=-1), 'readout_window'),
        (dict(readout_window=1.5), 'readout_window'),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    cfg = dict(in_channels=C, in_featuremap_size=FMAP, num_joints=K, **SMALL)
    cfg.update(kwargs)
    with pytest.raises(ValueError, match=match):
        IntegralRLEHead(**cfg)


def test_square_featuremap_size_as_int():
    head = IntegralRLEHead(in_channels=C, in_featuremap_size=2, num_joints=K, **SMALL)
    assert head.heatmap_size == (8, 8)


# ------------------------------------------------------------------ registry and configs


def test_registry_builds_it_from_mmpose():
    head = MMPOSE_MODELS.build(
        dict(
            type='mmpose_rle.IntegralRLEHead',
            in_channels=C,
            in_featuremap_size=FMAP,
            num_joints=K,
            decoder=CODEC,
            **SMALL,
        )
    )
    assert type(head) is IntegralRLEHead
    assert head.decoder.input_size == INPUT


@pytest.mark.parametrize(
    'path,num_joints,input_size,fmap',
    [
        (R50_CONFIG, 17, (192, 256), (6, 8)),
        (INTEGRAL_QUICKSTART, 11, (64, 64), (2, 2)),
    ],
    ids=['r50-coco', 'quickstart'],
)
def test_config_builds_and_trains_and_predicts(
    path, num_joints, input_size, fmap, monkeypatch, tmp_path
):
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tmp_path))
    cfg = Config.fromfile(str(path))
    assert cfg.model.neck is None
    cfg.model.backbone.pop('init_cfg', None)  # no download
    init_default_scope('mmpose')
    model = MMPOSE_MODELS.build(cfg.model)
    assert type(model.head) is IntegralRLEHead and not model.with_neck
    assert model.head.in_featuremap_size == fmap
    assert model.head.decoder.input_size == input_size
    assert cfg.model.test_cfg.flip_test

    data = get_packed_inputs(
        2,
        num_keypoints=num_joints,
        img_shape=input_size[::-1],
        input_size=input_size,
        with_heatmap=False,
        with_simcc_label=False,
    )
    with torch.no_grad():
        backbone_out = model.extract_feat(model.data_preprocessor(data, True)['inputs'])
    assert backbone_out[-1].shape[-2:] == fmap[::-1]
    model.train()
    losses = model.loss(*model.data_preprocessor(data, True).values())
    assert torch.isfinite(losses['loss_kpt'])
    losses['loss_kpt'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        results = model.test_step(data)
    for result in results:
        kpts = result.pred_instances.keypoints
        assert kpts.shape == (1, num_joints, 2) and np.isfinite(kpts).all()
        assert result.pred_instances.keypoint_sigmas.shape == (1, num_joints, 2)
        assert math.isfinite(float(result.pred_instances.keypoint_scores.mean()))
