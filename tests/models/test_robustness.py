"""Bad inputs get a documented behaviour, never a NaN; mixed precision stays finite."""
from unittest import mock

import pytest
import torch
from mmengine.optim import AmpOptimWrapper
from mmpose.testing import get_packed_inputs

from mmpose_rle.engine import check_head_against_metainfo
from mmpose_rle.models import RLEHead, RLELoss
from tests.helpers import randomise_

K = 5


def batch(N=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.rand(N, K, 2, generator=gen)
    return pred, torch.randn(N, K, 2, generator=gen), pred + 0.05 * torch.randn(
        N, K, 2, generator=gen), torch.ones(N, K, 1)


def grads(loss_fn, pred, sigma, *rest):
    pred, sigma = pred.clone().requires_grad_(), sigma.clone().requires_grad_()
    out = loss_fn(pred, sigma, *rest)
    out.backward()
    flow_grads = [p.grad for p in loss_fn.flow_model.parameters()]
    return out, pred.grad, sigma.grad, flow_grads


def loss_fn(**kwargs):
    loss = RLELoss(use_target_weight=True, **kwargs)
    randomise_(loss.flow_model, std=0.05)
    return loss


def test_tiny_sigma_is_bounded_where_the_unbounded_loss_explodes():
    pred, sigma, target, w = batch()
    sigma[0, 0] = -30.0  # σ̂ = 9e-14
    out, g_pred, g_sigma, g_flow = grads(loss_fn(), pred, sigma, target, w)
    assert torch.isfinite(out) and abs(out) < 1e4
    assert g_pred.abs().max() <= 2 / 1e-3 + 1e-3 and torch.isfinite(g_sigma).all()
    assert all(torch.isfinite(g).all() for g in g_flow)
    raw, g_pred_raw, _, _ = grads(loss_fn(sigma_min=None, max_flow_input=None), pred, sigma,
                                  target, w)
    assert abs(raw) > 1e10 or g_pred_raw.abs().max() > 1e10  # what the bounds prevent


@pytest.mark.parametrize('logit', [30.0, 80.0])
def test_sigma_near_one_is_finite(logit):
    pred, sigma, target, w = batch()
    sigma[:] = logit
    out, g_pred, g_sigma, g_flow = grads(loss_fn(), pred, sigma, target, w)
    assert torch.isfinite(out) and torch.isfinite(g_pred).all() and torch.isfinite(g_sigma).all()


def test_huge_error_has_bounded_gradients():
    pred, sigma, target, w = batch()
    target[1, 2] += 1000.0  # a label 1000 crop widths away
    out, g_pred, g_sigma, g_flow = grads(loss_fn(), pred, sigma, target, w)
    assert torch.isfinite(out)
    assert g_pred.abs().max() <= 2 / 1e-3
    assert max(g.abs().max() for g in g_flow) < 1e3
    assert g_pred[1, 2].abs().min() > 0  # the Laplace term still pulls the prediction


def test_non_finite_targets_and_weights_are_masked_with_a_warning():
    loss = loss_fn()
    pred, sigma, target, w = batch()
    clean = loss(pred, sigma, target, w.clone().index_put_((torch.tensor([1, 3]),
                                                             torch.tensor([2, 0])),
                                                            torch.tensor([[0.], [0.]])))
    bad_target, bad_w = target.clone(), w.clone()
    bad_target[1, 2, 0] = float('nan')
    bad_w[3, 0] = float('inf')
    with pytest.warns(UserWarning, match=r'masked 2 keypoint.*sample 1, keypoint 2.*sample 3, '
                      r'keypoint 0'):
        out, g_pred, g_sigma, g_flow = grads(loss, pred, sigma, bad_target, bad_w)
    torch.testing.assert_close(out, clean)
    assert torch.isfinite(g_pred).all() and (g_pred[1, 2] == 0).all()


def test_nan_target_without_target_weight_is_masked_too():
    loss = RLELoss()
    pred, sigma, target, _ = batch()
    target[0, 0, 1] = float('nan')
    with pytest.warns(UserWarning, match='masked 1 keypoint'):
        out = loss(pred, sigma, target)
    assert torch.isfinite(out)


def test_all_invisible_gives_zero_loss_and_zero_gradients():
    pred, sigma, target, w = batch()
    out, g_pred, g_sigma, g_flow = grads(loss_fn(), pred, sigma, target, torch.zeros_like(w))
    assert out == 0 and (g_pred == 0).all() and (g_sigma == 0).all()
    assert all((g == 0).all() for g in g_flow)


def test_non_finite_network_outputs_raise():
    pred, sigma, target, w = batch()
    pred[0, 0, 0] = float('nan')
    with pytest.raises(FloatingPointError, match='non-finite coordinates'):
        loss_fn()(pred, sigma, target, w)


def test_head_names_the_image_of_a_bad_label():
    head = RLEHead(in_channels=8, num_joints=K)
    data = get_packed_inputs(2, num_keypoints=K, with_heatmap=False,
                             with_simcc_label=False)['data_samples']
    data[1].set_metainfo(dict(img_path='frames/bad_0042.png'))
    data[1].gt_instance_labels.keypoint_labels[0, 3, 0] = float('inf')
    with pytest.warns(UserWarning, match=r'bad_0042\.png, keypoint 3'):
        losses = head.loss((torch.rand(2, 8), ), data)
    assert all(torch.isfinite(v) for v in losses.values())


def _amp_step(dtype):
    head = RLEHead(in_channels=16, num_joints=K)
    data = get_packed_inputs(2, num_keypoints=K, with_heatmap=False,
                             with_simcc_label=False)['data_samples']
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    with mock.patch.object(amp, 'is_cuda_available', return_value=True):  # CPU here
        wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(head.parameters(), lr=0.01),
                                  dtype=dtype)
    with wrapper.optim_context(head):
        x = torch.rand(2, 16)
        assert head.fc(x).dtype == getattr(torch, dtype)  # autocast is really on
        losses = head.loss((x, ), data)
    assert losses['loss_kpt'].dtype == torch.float32
    wrapper.update_params(losses['loss_kpt'])
    return losses, head


def test_amp_optim_wrapper_bf16_step_is_finite():
    losses, head = _amp_step('bfloat16')
    assert torch.isfinite(losses['loss_kpt'])
    assert all(torch.isfinite(p).all() for p in head.parameters())


def test_fp16_autocast_keeps_the_loss_in_fp32():
    head = RLEHead(in_channels=16, num_joints=K)
    data = get_packed_inputs(2, num_keypoints=K, with_heatmap=False,
                             with_simcc_label=False)['data_samples']
    x = torch.rand(2, 16)
    with torch.autocast('cpu', dtype=torch.float16):
        assert head.fc(x).dtype == torch.float16
        losses = head.loss((x, ), data)
    losses['loss_kpt'].backward()
    ref = head.loss((x, ), data)['loss_kpt']
    assert losses['loss_kpt'].dtype == torch.float32
    torch.testing.assert_close(losses['loss_kpt'], ref, rtol=2e-2, atol=0.5)
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)


def test_head_dataset_mismatch_is_caught_before_training():
    head = RLEHead(in_channels=8, num_joints=17)
    with pytest.raises(ValueError, match='num_joints=17.*has 4 keypoints'):
        check_head_against_metainfo(head, dict(num_keypoints=4, flip_indices=[0, 2, 1, 3],
                                               dataset_name='openfield'), 'training')
    with pytest.raises(ValueError, match='flip_indices has 3 entries for 17'):
        check_head_against_metainfo(head, dict(num_keypoints=17, flip_indices=[0, 1, 2]),
                                    'training')
    check_head_against_metainfo(head, dict(num_keypoints=17, flip_indices=list(range(17))),
                                'training')
