"""The official RLE coordinate layer: ``(x Wᵀ) / ‖x‖₂ + b`` with ``nn.Linear``'s parameters."""

import math

import torch
from torch import nn

from mmpose_rle.models.heads.norm_linear import FeatureNormLinear


def test_a_hand_worked_case():
    layer = FeatureNormLinear(2, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0], [-1.0, 0.5]]))
        layer.bias.copy_(torch.tensor([0.5, -1.0]))
    # ‖(3, 4)‖ = 5: (3 + 8) / 5 + 0.5 = 2.7 and (−3 + 2) / 5 − 1 = −1.2
    out = layer(torch.tensor([[3.0, 4.0]]))
    torch.testing.assert_close(out, torch.tensor([[2.7, -1.2]]))


def test_forward_equals_a_row_by_row_normalised_product():
    gen = torch.Generator().manual_seed(0)
    layer = FeatureNormLinear(5, 3).double()
    x = torch.randn(4, 5, generator=gen, dtype=torch.float64) * 7
    out = layer(x).detach()
    w, b = layer.weight.detach(), layer.bias.detach()
    for r in range(4):
        norm = math.sqrt(sum(float(v) ** 2 for v in x[r]))
        for j in range(3):
            expected = sum(float(x[r, i]) * float(w[j, i]) for i in range(5)) / norm + float(b[j])
            assert math.isclose(float(out[r, j]), expected, rel_tol=1e-12, abs_tol=1e-12)


def test_the_output_ignores_the_feature_scale_but_not_its_direction():
    layer = FeatureNormLinear(6, 4)
    x = torch.randn(3, 6)
    torch.testing.assert_close(layer(x), layer(x * 250.0))
    torch.testing.assert_close(layer(x), layer(x * 1e-3))
    plain = nn.functional.linear(x, layer.weight, layer.bias)
    assert not torch.allclose(layer(x), plain)  # not a plain linear layer


def test_without_bias_and_for_a_zero_row():
    layer = FeatureNormLinear(3, 2, bias=False)
    assert layer.bias is None
    x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    out = layer(x)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], torch.zeros(2))  # 0 / tiny, no bias
    torch.testing.assert_close(out[1], layer.weight[:, 1].detach())  # unit row (0, 1, 0)
    with_bias = FeatureNormLinear(3, 2)
    torch.testing.assert_close(with_bias(x[:1])[0], with_bias.bias.detach())


def test_gradients_match_the_explicit_formula_and_parameters_are_linears():
    layer = FeatureNormLinear(4, 3).double()
    assert isinstance(layer, nn.Linear)
    assert set(layer.state_dict()) == {'weight', 'bias'}
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    w = layer.weight.detach().clone().requires_grad_(True)
    b = layer.bias.detach().clone().requires_grad_(True)
    g = torch.randn(5, 3, dtype=torch.float64)
    (layer(x) * g).sum().backward()
    gx = x.grad.clone()
    x.grad = None
    ref = (x @ w.t()) / (x * x).sum(1, keepdim=True).sqrt() + b
    (ref * g).sum().backward()
    torch.testing.assert_close(gx, x.grad)
    torch.testing.assert_close(layer.weight.grad, w.grad)
    torch.testing.assert_close(layer.bias.grad, b.grad)
    assert torch.autograd.gradcheck(layer, (x.detach().requires_grad_(True),))
