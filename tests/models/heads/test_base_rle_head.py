"""What BaseRLEHead gives every head of the family: predict_outputs, the predictive RMS of
each design, σ-logit initialisation, the checks of the labels, mixed precision."""

from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.optim import AmpOptimWrapper
from mmpose.testing import get_packed_inputs

from mmpose_rle.evaluation import SigmaCocoMetric
from mmpose_rle.models import BaseRLEHead, IntegralRLEHead, OfficialRLEHead, RLEHead, RLEOutputs
from tests.helpers import randomise_

K = 5
CODEC = dict(type='RegressionLabel', input_size=(48, 64))
HEADS = {
    'RLEHead': lambda **kw: RLEHead(in_channels=16, num_joints=K, decoder=CODEC, **kw),
    'OfficialRLEHead': lambda **kw: OfficialRLEHead(
        in_channels=16, num_joints=K, decoder=CODEC, **kw
    ),
    'IntegralRLEHead': lambda **kw: IntegralRLEHead(
        in_channels=16,
        in_featuremap_size=(3, 4),
        num_joints=K,
        decoder=CODEC,
        deconv_out_channels=(8,),
        deconv_kernel_sizes=(4,),
        **kw,
    ),
}


def feats_for(head: BaseRLEHead, batch_size=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (batch_size, 16, 4, 3) if isinstance(head, IntegralRLEHead) else (batch_size, 16)
    return (torch.randn(*shape, generator=gen),)


def samples(batch_size=2):
    return get_packed_inputs(
        batch_size,
        num_keypoints=K,
        img_shape=(64, 48),
        input_size=(48, 64),
        with_heatmap=False,
        with_simcc_label=False,
    )['data_samples']


@pytest.mark.parametrize('name', HEADS)
def test_sigma_init_for_every_head(name):
    head = HEADS[name](sigma_init=0.05)
    head.init_weights()
    sigma = head.predict_outputs(feats_for(head)).sigma
    torch.testing.assert_close(sigma.mean(), torch.tensor(0.05), rtol=0, atol=0.01)
    default = HEADS[name]()
    default.init_weights()
    assert abs(default.predict_outputs(feats_for(default)).sigma.mean() - 0.5) < 0.05


@pytest.mark.parametrize('name', HEADS)
def test_predict_is_predict_outputs_decoded(name):
    head = HEADS[name]().eval()
    randomise_(head, std=0.1)
    with torch.no_grad():
        out = head.predict_outputs(feats_for(head))
        preds = head.predict(feats_for(head), samples())
    assert isinstance(out, RLEOutputs) and out.coords.shape == (2, K, 2)
    for i, pred in enumerate(preds):
        np.testing.assert_allclose(pred.keypoints[0], out.coords[i].numpy() * [48, 64], rtol=1e-6)
        np.testing.assert_allclose(
            pred.keypoint_scores[0], 1 - out.sigma[i].mean(-1).numpy(), rtol=1e-6
        )
        np.testing.assert_allclose(
            pred.keypoint_sigmas[0], out.rms[i].numpy() * [48, 64], rtol=1e-6
        )


@pytest.mark.parametrize('name', HEADS)
def test_expected_oks_keypoint_scores_are_the_sigma_metrics_scores(name, monkeypatch):
    """``keypoint_score='expected_oks'``: each keypoint's score is E[OKS_k] of its σ in
    image pixels for the area of the sample's box, as ``SigmaCocoMetric`` rescores the
    default head's predictions (so MMPose's ``CocoMetric`` with threshold 0 gives its AP);
    and against Monte Carlo draws of a Gaussian error of that σ."""
    oks_sigmas = [0.025, 0.05, 0.08, 0.1, 0.2]
    head = HEADS[name](keypoint_score='expected_oks', oks_sigmas=oks_sigmas).eval()
    default = HEADS[name]().eval()
    randomise_(head, std=0.1)
    default.load_state_dict(head.state_dict())
    batch = samples()
    with torch.no_grad():
        preds = head.predict(feats_for(head), batch)
        plain = default.predict(feats_for(head), batch)
    metric = SigmaCocoMetric()
    metric.dataset_meta = dict(dataset_name='toy', sigmas=np.array(oks_sigmas))
    seen = []
    monkeypatch.setattr(
        'mmpose.evaluation.metrics.CocoMetric.process',
        lambda self, data, rescored: seen.extend(rescored),
    )
    for pred, base, sample in zip(preds, plain, batch):
        box = sample.gt_instances.bboxes.reshape(4)
        metric.process({}, [dict(pred_instances=dict(base.to_dict(), bboxes=box[None]))])
        np.testing.assert_allclose(
            pred.keypoint_scores, seen.pop()['pred_instances']['keypoint_scores'], rtol=1e-6
        )
        area = (box[2] - box[0]) * (box[3] - box[1])
        rng = np.random.default_rng(0)
        errors = rng.normal(size=(200000, K, 2)) * pred.keypoint_sigmas_image[0]
        oks = np.exp(-(errors**2).sum(-1) / (2 * area * (2 * np.array(oks_sigmas)) ** 2))
        np.testing.assert_allclose(pred.keypoint_scores[0], oks.mean(0), rtol=0.02, atol=1e-3)
        np.testing.assert_array_equal(pred.keypoint_sigmas, base.keypoint_sigmas)
        assert not np.allclose(pred.keypoint_scores, base.keypoint_scores)


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(keypoint_score='peak'), 'keypoint_score must be one of'),
        (dict(keypoint_score='expected_oks'), 'needs oks_sigmas'),
        (dict(keypoint_score='expected_oks', oks_sigmas=[0.1] * (K - 1)), 'must be 5 positive'),
        (dict(keypoint_score='expected_oks', oks_sigmas=[0.1] * (K - 1) + [0]), 'positive'),
    ],
)
def test_bad_keypoint_score_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HEADS['RLEHead'](**kwargs)


def test_expected_oks_score_needs_the_samples_box():
    head = HEADS['RLEHead'](keypoint_score='expected_oks', oks_sigmas=[0.1] * K).eval()
    batch = samples()
    for sample in batch:
        del sample.gt_instances.bboxes
    with pytest.raises(ValueError, match='needs a top-down sample'):
        head.predict(feats_for(head), batch)


@pytest.mark.parametrize('name', HEADS)
def test_predict_applies_the_sigma_map_of_its_inference_mode(name):
    """One view: the single-view map; flip test: the flip map on the average of the raw RMS
    of both views (the flipped view's keypoints swapped by flip_indices)."""
    head = HEADS[name]().eval()
    randomise_(head, std=0.1)
    x, x_flip = feats_for(head, seed=0), feats_for(head, seed=1)
    batch = samples()
    swap = [0, 2, 1, 4, 3]
    for sample in batch:
        sample.set_metainfo(dict(flip_indices=swap))
    with torch.no_grad():
        raw, raw_flip = head.predict_outputs(x).rms, head.predict_outputs(x_flip).rms
        head.sigma_calibration.set_(torch.full((K, 2), np.log(2.0)), mode='single')
        log_a, power = torch.full((K, 2), np.log(7.0)), torch.full((K, 2), 0.6)
        head.sigma_calibration.set_(log_a, power, mode='flip')
        single = head.predict(x, batch, test_cfg={})
        flipped = head.predict([x, x_flip], batch, test_cfg=dict(flip_test=True))
        torch.testing.assert_close(head.predict_outputs(x).rms, 2 * raw)  # ONNX, inference
    size = np.array([48, 64])
    mean = ((raw + raw_flip[:, swap]) / 2).numpy()
    expected_flip = np.exp(log_a.numpy()) * mean ** power.numpy()
    for i in range(len(batch)):
        np.testing.assert_allclose(single[i].keypoint_sigmas[0], 2 * raw[i] * size, rtol=1e-5)
        np.testing.assert_allclose(
            flipped[i].keypoint_sigmas[0], expected_flip[i] * size, rtol=1e-5
        )


@pytest.mark.parametrize(
    'design, q, formulation, q_scale',
    [
        # per coordinate the loss is 2 log σ̂ + |r|/σ̂: minimised at σ̂ = E|r|/2, so b = 2σ̂
        ('basic', 'laplace', 'mmpose', 2.0),
        # 2 log σ̂ + |r|/(√2 σ̂): σ̂ = E|r|/(2√2), so b = 2√2 σ̂
        ('basic', 'laplace', 'official', 2 * 2**0.5),
        # log σ̂ + r²/(2σ̂²): the Gaussian's own standard deviation
        ('basic', 'gaussian', 'exact', 1.0),
    ],
)
def test_basic_design_rms_matches_monte_carlo_of_the_predictive_distribution(
    design, q, formulation, q_scale
):
    """Draw z ~ Q(μ̂, b) with b the scale the loss fits for σ̂, push it through the flow,
    and compare the RMS of f(z) − f(μ̂) with the head's predicted RMS."""
    head = HEADS['RLEHead'](
        loss=dict(
            type='mmpose_rle.RLELoss',
            design=design,
            q_distribution=q,
            formulation=formulation,
            use_target_weight=True,
        )
    )
    randomise_(head.loss_module.flow_model, std=0.2)
    with torch.no_grad():
        head.fc.weight.zero_()
        head.fc.bias.copy_(torch.tensor([0.4, 0.6, -3.0, -2.5]).repeat(K))  # σ̂ 0.05, 0.08
        out = head.predict_outputs(feats_for(head))
        mu = torch.tensor([0.4, 0.6])
        sigma = torch.sigmoid(torch.tensor([-3.0, -2.5]))
        gen = torch.Generator().manual_seed(0)
        n = 200000
        scale = sigma * q_scale
        if q == 'gaussian':
            z = mu + scale * torch.randn(n, 2, generator=gen)
        else:
            u = torch.rand(n, 2, generator=gen) - 0.5
            z = mu - scale * torch.sign(u) * torch.log1p(-2 * u.abs())
        flow = head.loss_module.flow_model
        x, centre = flow(z)[0], flow(mu[None])[0]
        mc_rms = ((x - centre) ** 2).mean(0).sqrt()
    torch.testing.assert_close(out.coords[0, 0], centre[0])
    torch.testing.assert_close(out.rms[0, 0], mc_rms, rtol=0.05, atol=0)


def test_residual_design_rms_is_sigma_times_residual_rms():
    head = HEADS['RLEHead']()
    randomise_(head, std=0.2)
    out = head.predict_outputs(feats_for(head))
    torch.testing.assert_close(out.rms, out.sigma * head.loss_module.residual_rms())


@pytest.mark.parametrize('design, q', [('residual', 'gaussian'), ('basic', 'laplace')])
def test_the_head_answers_for_the_prediction_maths_of_its_loss(design, q):
    loss = dict(type='mmpose_rle.RLELoss', design=design, q_distribution=q)
    head = HEADS['RLEHead'](loss=loss).eval()
    randomise_(head.loss_module.flow_model, std=0.2)
    head.loss_module.clear_cache()
    mu, sigma = torch.rand(3, K, 2), torch.rand(3, K, 2)
    assert head.q_distribution == q
    assert head.residual_rms() is head.loss_module.residual_rms()  # one model, one cache
    for got, expected in zip(head.predictive(mu, sigma), head.loss_module.predictive(mu, sigma)):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_a_loss_without_a_flow_predicts_mu_and_sigma():
    head = HEADS['RLEHead'](loss=dict(type='mmpose.RLELoss', q_distribution='gaussian'))
    mu, sigma = torch.rand(3, K, 2), torch.rand(3, K, 2)
    coords, rms = head.predictive(mu, sigma)
    assert coords is mu and rms is sigma and head.residual_rms() is None
    assert head.q_distribution == 'gaussian'


def test_head_names_the_image_of_a_bad_label():
    head = HEADS['RLEHead']()
    data = samples()
    data[1].set_metainfo(dict(img_path='frames/bad_0042.png'))
    data[1].gt_instance_labels.keypoint_labels[0, 3, 0] = float('inf')
    with pytest.warns(UserWarning, match=r'bad_0042\.png, keypoint 3'):
        losses = head.loss(feats_for(head), data)
    assert all(torch.isfinite(v) for v in losses.values())


@pytest.mark.parametrize('name', HEADS)
def test_num_joints_mismatch_raises(name):
    head = HEADS[name]()
    data = get_packed_inputs(2, num_keypoints=K + 1, with_heatmap=False, with_simcc_label=False)[
        'data_samples'
    ]
    with pytest.raises(ValueError, match=f'data set has {K + 1} keypoints.*num_joints={K}'):
        head.loss(feats_for(head), data)


def test_amp_optim_wrapper_bf16_step_is_finite():
    head = HEADS['RLEHead']()
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp

    with mock.patch.object(amp, 'is_cuda_available', return_value=True):  # CPU here
        wrapper = AmpOptimWrapper(
            optimizer=torch.optim.SGD(head.parameters(), lr=0.01), dtype='bfloat16'
        )
    with wrapper.optim_context(head):
        x = torch.rand(2, 16)
        assert head.fc(x).dtype == torch.bfloat16  # autocast is really on
        losses = head.loss((x,), samples())
    assert losses['loss_kpt'].dtype == torch.float32
    wrapper.update_params(losses['loss_kpt'])
    assert torch.isfinite(losses['loss_kpt'])
    assert all(torch.isfinite(p).all() for p in head.parameters())


@pytest.mark.parametrize('name', HEADS)
def test_fp16_autocast_keeps_outputs_and_loss_in_fp32(name):
    head = HEADS[name]()
    x = feats_for(head)
    with torch.autocast('cpu', dtype=torch.float16):
        out = head.forward(x)
        losses = head.loss(x, samples())
    assert out.dtype == torch.float32 and losses['loss_kpt'].dtype == torch.float32
    losses['loss_kpt'].backward()
    ref = head.loss(x, samples())['loss_kpt']
    torch.testing.assert_close(losses['loss_kpt'], ref, rtol=2e-2, atol=0.5)
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)
