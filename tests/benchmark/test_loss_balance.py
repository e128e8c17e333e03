"""loss_gradient_norms: per-term values, gradient norms on the shared layers and cosines,
against gradients written out by hand."""

import numpy as np
import torch
from torch import nn

from mmpose_rle.benchmark.loss_balance import (
    balance_markdown,
    loss_gradient_norms,
    module_gradient_norms,
    module_markdown,
    parameter_group,
    shared_parameters,
)


class _TwoTerms(nn.Module):
    """``loss_a = Σ w·x`` (a vector: its mean is the term), ``loss_b = −Σ w²``, and a head
    parameter that is not shared."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.w = nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
        self.head = nn.Module()
        self.head.h = nn.Parameter(torch.tensor(3.0))

    def data_preprocessor(self, data, training):
        return dict(inputs=data['x'], data_samples=None)

    def loss(self, inputs, samples):
        w, h = self.backbone.w, self.head.h
        return dict(
            loss_a=torch.stack([(w * inputs).sum(), 3 * (w * inputs).sum()]),  # mean: 2 Σ w·x
            loss_b=-(w**2).sum() * h,
            acc=torch.tensor(1.0),  # not a loss: ignored
        )


def test_terms_against_hand_gradients():
    model = _TwoTerms()
    x1, x2 = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0, 1.0])
    got = loss_gradient_norms(model, [dict(x=x1), dict(x=x2)])
    w, h = model.backbone.w.detach(), 3.0
    assert set(got) == {'loss_a', 'loss_b'}
    grads_a = [2 * x1, 2 * x2]
    grad_b = -2 * h * w
    np.testing.assert_allclose(got['loss_a']['value'], np.mean([2 * (w @ x1), 2 * (w @ x2)]))
    np.testing.assert_allclose(got['loss_b']['value'], float(-(w**2).sum() * h))
    np.testing.assert_allclose(got['loss_a']['grad_norm'], np.mean([g.norm() for g in grads_a]))
    np.testing.assert_allclose(got['loss_b']['grad_norm'], float(grad_b.norm()), rtol=1e-6)
    cosines = [float(g @ grad_b / (g.norm() * grad_b.norm())) for g in grads_a]
    np.testing.assert_allclose(got['loss_a']['cosine'], np.mean(cosines), rtol=1e-6)
    np.testing.assert_allclose(got['loss_b']['cosine'], np.mean(cosines), rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())


def test_only_backbone_and_neck_are_shared():
    model = _TwoTerms()
    params = shared_parameters(model)
    assert len(params) == 1 and params[0] is model.backbone.w


def test_markdown_shares_sum_to_one():
    results = {
        'm': {
            'loss_a': dict(value=-1.0, grad_norm=3.0, cosine=-0.5),
            'loss_b': dict(value=2.0, grad_norm=1.0, cosine=0.25),
        }
    }
    table = balance_markdown(results)
    assert '| m | loss_a | -1.000 | 3 | 0.75 | -0.50 |' in table
    assert '| m | loss_b | 2.000 | 1 | 0.25 | +0.25 |' in table


def test_cosine_of_a_term_alone_is_zero():
    class _One(_TwoTerms):
        def loss(self, inputs, samples):
            return dict(loss_a=(self.backbone.w * inputs).sum())

    got = loss_gradient_norms(_One(), [dict(x=torch.ones(3))])
    assert got['loss_a']['cosine'] == 0.0


def test_module_norms_against_hand_gradients():
    """The summed loss ``2 Σ w·x − h Σ w²``: ``∇_w = 2x − 2hw``, ``∇_h = −Σ w²``; the groups'
    squares sum to the total's square."""
    model = _TwoTerms()
    x1, x2 = torch.tensor([1.0, 0.0, 2.0]), torch.tensor([0.0, 1.0, 1.0])
    got = module_gradient_norms(model, [dict(x=x1), dict(x=x2)])
    w, h = model.backbone.w.detach(), 3.0
    grad_w = [2 * x - 2 * h * w for x in (x1, x2)]
    grad_h = float((w**2).sum())
    assert list(got) == ['backbone', 'head', 'total']
    np.testing.assert_allclose(got['backbone'], np.mean([g.norm() for g in grad_w]), rtol=1e-6)
    np.testing.assert_allclose(got['head'], grad_h, rtol=1e-6)
    totals = [float((g.norm() ** 2 + grad_h**2) ** 0.5) for g in grad_w]
    np.testing.assert_allclose(got['total'], np.mean(totals), rtol=1e-6)
    assert all(p.grad is None for p in model.parameters())
    table = module_markdown({'toy': got})
    assert '| toy | backbone |' in table and '| toy | total |' in table


def test_parameter_groups():
    assert parameter_group('backbone.stage1.conv.weight') == 'backbone'
    assert parameter_group('neck.reduce.0.bias') == 'neck'
    assert parameter_group('head.head_module.out_kpt.0.weight') == 'head.head_module.out_kpt'
    assert parameter_group('head.loss_rle.flow_model.s.0.weight') == 'head.loss_rle.flow_model'
    assert parameter_group('head.h') == 'head'
    assert parameter_group('h') == 'h'
