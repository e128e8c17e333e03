"""DenseRLEHead: the dense term reaches the maps, its default target is 1 cell wide, the map
is not flat at step 0, σ from the spread, flip test, heatmap checkpoints, training on the
synthetic data."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmpose.models.heads import HeatmapHead
from mmpose.registry import MODELS as MMPOSE_MODELS
from mmpose.testing import get_packed_inputs

from mmpose_rle.models import DenseRLEHead
from tests.helpers import QUICKSTART_CONFIG, randomise_

C, K = 16, 5
INPUT = (48, 64)
CODEC = dict(type='RegressionLabel', input_size=INPUT)
SMALL = dict(deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 4))  # 12x16 heatmaps


def make_head(**kwargs) -> DenseRLEHead:
    cfg = dict(in_channels=C, num_joints=K, decoder=CODEC, **SMALL)
    cfg.update(kwargs)
    head = DenseRLEHead(**cfg)
    head.init_weights()
    return head


def feats(batch_size=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(batch_size, C, 4, 3, generator=gen),)


def samples(batch_size=2):
    return get_packed_inputs(
        batch_size,
        num_keypoints=K,
        img_shape=INPUT[::-1],
        input_size=INPUT,
        with_heatmap=False,
        with_simcc_label=False,
    )['data_samples']


def test_losses_and_the_dense_term_reaches_the_deconvolutions():
    head = make_head()
    losses = head.loss(feats(), samples())
    assert set(losses) == {'loss_kpt', 'loss_dense', 'acc_pose', 'nll', 'sigma_mean'}
    assert losses['loss_dense'] > 0
    losses['loss_dense'].backward()
    deconv = head.simplebaseline_head.deconv_layers[0].weight
    assert deconv.grad is not None and deconv.grad.abs().sum() > 0
    assert head.fc_sigma.weight.grad is None  # the dense term does not touch σ


@pytest.mark.parametrize('training', [False, True])
def test_default_read_out_takes_the_stronger_of_two_distant_modes(training):
    """Two modes 20 cells apart: the default window (8 cells) reads the stronger one, in
    training and at test; the whole map reads a point between them."""
    size = (24, 24)  # 24x24 maps, no deconvolution, the features are the logits
    base = dict(
        in_channels=K, num_joints=K, decoder=dict(type='RegressionLabel', input_size=(96, 96))
    )
    base.update(deconv_out_channels=None, final_layer=None)
    logits = torch.full((1, K, *size), -20.0)
    logits[..., 2, 2], logits[..., 21, 22] = 0.0, -0.5  # mode masses about 0.62 and 0.38
    default, whole = DenseRLEHead(**base), DenseRLEHead(**base, readout_window=None)
    with torch.no_grad():
        got = default.train(training).forward((logits,))[..., :2]
        mixed = whole.train(training).forward((logits,))[..., :2]
    stronger = (torch.tensor([2.0, 2.0]) + 0.5) * 4 - 0.5  # cell (2, 2) in input pixels
    torch.testing.assert_close(got * 96, stronger.expand_as(got), rtol=0, atol=1e-3)
    assert (mixed * 96 - stronger).abs().min() > 20  # pulled toward the weaker mode


def test_dense_term_equals_the_kl_of_the_heads_own_maps():
    head = make_head()
    data = samples()
    labels, weights = head.labels_and_weights(data)
    log_p = head.get_heatmaps(feats()).log()
    expected = head.dense_loss_module(log_p, labels, head.grids(log_p), weights)
    torch.testing.assert_close(head.loss(feats(), data)['loss_dense'], expected)


def test_default_dense_target_is_one_cell_wide():
    """A map equal to a Gaussian of 1 cell at the label (a cell centre far from the border,
    written out here) costs the default head no dense loss; one of 2 cells, MMPose's
    heatmap width, does."""
    head = DenseRLEHead(in_channels=K, num_joints=1, decoder=CODEC)
    size = 24
    log_p_shape = torch.zeros(1, 1, size, size)
    gx, gy = head.grids(log_p_shape)
    labels = torch.stack([gx[12], gy[10]]).view(1, 1, 2)
    rows, cols = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing='ij')

    def gaussian(width: float) -> torch.Tensor:
        log_t = -((cols - 12) ** 2 + (rows - 10) ** 2) / (2 * width**2)
        return (log_t - torch.logsumexp(log_t.flatten(), 0)).view(1, 1, size, size)

    weights = torch.ones(1, 1)
    loss = {w: head.dense_loss_module(gaussian(w), labels, (gx, gy), weights) for w in (1, 2)}
    assert loss[1].item() < 1e-4 * head.dense_loss_module.loss_weight
    assert loss[2].item() > 0.1 * head.dense_loss_module.loss_weight


def test_heatmaps_are_not_flat_at_step_zero():
    """MMPose's Normal(0.001) init gives nearly uniform maps (μ̂ ≈ 0.5 for every input);
    heatmap_init_std=1 gives logits of unit spread."""
    spread = {}
    for std in (None, 1.0):
        head = make_head(heatmap_init_std=std)
        logits, _ = head.heatmap_logits(feats(batch_size=4))
        spread[std] = logits.flatten(2).std(-1).mean().item()
    assert spread[None] < 0.01 < 0.3 < spread[1.0]


def test_sigma_from_spread_starts_neutral_and_follows_log_std():
    head = make_head(sigma_from_spread=True, sigma_map_stats=(), sigma_map_init=0.0)
    plain = make_head(sigma_map_stats=())
    plain.load_state_dict(head.state_dict(), strict=False)
    torch.testing.assert_close(head.forward(feats()), plain.forward(feats()))
    with torch.no_grad():
        head.spread_weight.fill_(1.0)
    probs = head.get_heatmaps(feats())
    coords = head.forward(feats())[..., :2]
    gx, gy = head.grids(probs)
    std_x = ((probs.sum(-2) * (gx - coords[..., 0:1]) ** 2).sum(-1)).sqrt()
    delta = head.forward(feats())[..., 2] - plain.forward(feats())[..., 2]
    torch.testing.assert_close(delta, std_x.log(), rtol=1e-4, atol=1e-5)


def test_peak_and_entropy_terms_follow_the_maps():
    head = make_head(sigma_map_stats=('peak', 'entropy'), sigma_map_init=0.0)
    plain = make_head(sigma_map_stats=())
    plain.load_state_dict(head.state_dict(), strict=False)
    torch.testing.assert_close(head.forward(feats()), plain.forward(feats()))  # neutral at 0
    probs = head.get_heatmaps(feats()).flatten(2).double()
    peak = np.log(probs.max(-1).values.detach().numpy())
    entropy = -(probs * probs.log()).sum(-1).detach().numpy()
    for stat, want in (('peak', peak), ('entropy', entropy)):
        with torch.no_grad():
            head.peak_weight.fill_(1.0 if stat == 'peak' else 0.0)
            head.entropy_weight.fill_(1.0 if stat == 'entropy' else 0.0)
        delta = (head.forward(feats())[..., 2:] - plain.forward(feats())[..., 2:]).detach()
        np.testing.assert_allclose(delta[..., 0].numpy(), want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(delta[..., 1].numpy(), want, rtol=1e-4, atol=1e-5)


def test_sigma_without_pooled_features_is_bias_plus_statistics():
    head = make_head(sigma_map_stats=('spread',), sigma_pooled=False, sigma_map_init=0.0)
    out = head.forward(feats())
    bias = head.fc_sigma.bias.reshape(1, K, 2).expand(2, -1, -1)
    torch.testing.assert_close(out[..., 2:], bias)  # the statistic's weight starts at 0
    head.loss(feats(), samples())['loss_kpt'].backward()
    assert head.fc_sigma.weight.grad is None and head.spread_weight.grad.abs().sum() > 0
    started = make_head(sigma_map_stats=('spread',), sigma_pooled=False, sigma_map_init=1.0)
    probs = started.get_heatmaps(feats())
    out = started.forward(feats())
    gy = started.grids(probs)[1]
    std_y = ((probs.sum(-1) * (gy - out[..., 1:2]) ** 2).sum(-1)).sqrt()
    torch.testing.assert_close(out[..., 3] - started.fc_sigma.bias[1::2], std_y.log())
    with pytest.raises(ValueError, match='unknown sigma_map_stats'):
        make_head(sigma_map_stats=('mode',))
    with pytest.raises(ValueError, match='must name a statistic'):
        make_head(sigma_pooled=False, sigma_map_stats=())


def test_default_sigma_is_pooled_features_plus_the_maps_log_spread():
    head, pooled = make_head(), make_head(sigma_map_stats=())
    assert head.sigma_map_stats == ('spread',) and head.sigma_pooled
    pooled.load_state_dict(head.state_dict(), strict=False)
    probs = head.get_heatmaps(feats())
    out = head.forward(feats())
    gx, gy = head.grids(probs)
    std_x = ((probs.sum(-2) * (gx - out[..., 0:1]) ** 2).sum(-1)).sqrt()
    std_y = ((probs.sum(-1) * (gy - out[..., 1:2]) ** 2).sum(-1)).sqrt()
    delta = out[..., 2:] - pooled.forward(feats())[..., 2:]
    torch.testing.assert_close(delta, torch.stack([std_x, std_y], -1).log(), rtol=1e-4, atol=1e-5)


def test_a_checkpoint_without_map_weights_loads_as_the_model_it_was():
    old = make_head(sigma_map_stats=())
    randomise_(old, std=0.05)
    new = make_head()
    with pytest.warns(UserWarning, match=r"no weights for the map statistics \['spread'\]"):
        new.load_state_dict(old.state_dict())
    assert torch.equal(new.spread_weight, torch.zeros(K, 2))
    torch.testing.assert_close(new.forward(feats()), old.forward(feats()))


def test_flip_test_averages_the_unflipped_outputs():
    head = make_head().eval()
    randomise_(head.simplebaseline_head, std=0.5)
    data = samples()
    for d in data:
        d.set_metainfo(dict(flip_indices=[0, 2, 1, 4, 3]))
    x, x_flip = feats(), feats(seed=1)
    with torch.no_grad():
        preds = head.predict([x, x_flip], data, dict(flip_test=True, shift_coords=False))
        a = head.predict_outputs(x)
        b = head.predict_outputs(x_flip)
    flipped = b.coords[:, [0, 2, 1, 4, 3]].clone()
    flipped[..., 0] = 1 - flipped[..., 0]
    expected = (a.coords + flipped) / 2 * torch.tensor(INPUT)
    torch.testing.assert_close(torch.from_numpy(preds[0].keypoints[0]).float(), expected[0])


def test_a_simplebaseline_checkpoint_fills_the_map_branch():
    heatmap = HeatmapHead(in_channels=C, out_channels=K, **SMALL)
    randomise_(heatmap, std=0.3)
    head = make_head()
    missing, unexpected = head.load_state_dict(heatmap.state_dict(), strict=False)
    assert not unexpected
    sigma_parts = ('fc_sigma', 'loss_module', 'dense_loss_module', 'spread_weight')
    assert all(k.startswith(sigma_parts) for k in missing)
    assert torch.equal(head.spread_weight, torch.ones(K, 2))  # not a σ head's: initial weights
    with torch.no_grad():
        torch.testing.assert_close(
            head.heatmap_logits(feats())[0], heatmap.forward(feats()), rtol=0, atol=0
        )


def test_a_pretrained_init_cfg_keeps_the_loaded_final_conv(tmp_path):
    """``init_cfg=Pretrained`` loads a heatmap checkpoint; the non-flat re-initialisation of
    the final conv must not overwrite it."""
    heatmap = HeatmapHead(in_channels=C, out_channels=K, **SMALL)
    randomise_(heatmap, std=0.3)
    path = tmp_path / 'heatmap.pth'
    torch.save(dict(state_dict=heatmap.state_dict()), path)
    head = make_head(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with torch.no_grad():
        torch.testing.assert_close(
            head.heatmap_logits(feats())[0], heatmap.forward(feats()), rtol=0, atol=0
        )


def test_a_few_steps_lower_both_losses_on_the_synthetic_data(tiny_figures, monkeypatch):
    """The quick-start model with the dense head, on a fixed batch of procedural figures."""
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tiny_figures))
    cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    init_default_scope('mmpose')
    set_random_seed(0)  # init and augmentation: the result must not depend on test order
    cfg.model.neck = None
    cfg.model.head.type = 'mmpose_rle.DenseRLEHead'
    cfg.model.head.deconv_out_channels = (64, 64, 64)
    model = MMPOSE_MODELS.build(cfg.model)
    model.init_weights()
    cfg.train_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = model.data_preprocessor(next(iter(loader)), True)
    optim = torch.optim.Adam(model.parameters(), lr=2e-3)
    history = []
    for _ in range(30):
        losses = model.loss(batch['inputs'], batch['data_samples'])
        total = losses['loss_kpt'] + losses['loss_dense']
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append({k: float(v.detach()) for k, v in losses.items()})
    for key in ('loss_dense', 'loss_kpt'):  # first 3 steps against the last 5
        first = np.mean([h[key] for h in history[:3]])
        last = np.mean([h[key] for h in history[-5:]])
        assert last < first - 1.0, (key, first, last)


def test_registry_and_swap_from_an_rle_config():
    """An RLE config becomes a dense one by swapping the head type and dropping the neck."""
    cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    cfg.merge_from_dict(dict(model=dict(neck=None, head=dict(type='mmpose_rle.DenseRLEHead'))))
    init_default_scope('mmpose')
    model = MMPOSE_MODELS.build(cfg.model)
    assert type(model.head) is DenseRLEHead and not model.with_neck
    out = model(torch.zeros(1, 3, 64, 64), None, mode='tensor')
    assert out.shape == (1, 11, 4)


@pytest.mark.parametrize('kwargs, match', [(dict(sigma_source='x'), 'sigma_source')])
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_head(**kwargs)


@pytest.mark.parametrize('window', [None, 1])
def test_onnx_export_of_a_dense_model(tmp_path, tiny_figures, monkeypatch, window):
    from mmpose_rle.apis.onnx_export import build_model, export_onnx, verify_onnx

    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tiny_figures))
    model = build_model(
        QUICKSTART_CONFIG,
        cfg_options={
            'model.neck': None,
            'model.head.type': 'mmpose_rle.DenseRLEHead',
            'model.head.deconv_out_channels': (32, 32, 32),
            'model.head.readout_window': window,
        },
    )
    randomise_(model.head.simplebaseline_head, std=0.2)
    path = export_onnx(model, tmp_path / 'dense.onnx')
    diffs = verify_onnx(model, path)
    assert max(diffs.values()) <= 1e-4
