"""The unscented push of Q(μ̂, σ̂) through a map: exact for affine maps."""

import torch
from torch import nn

from mmpose_rle.models.losses.predictive import unscented_push


class Affine(nn.Module):
    """x = A z + b, returned like a flow's forward: (x, log-det)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.a, self.b = a, b

    def forward(self, z):
        return z @ self.a.t() + self.b, torch.zeros(len(z))


def test_exact_for_an_affine_map():
    gen = torch.Generator().manual_seed(0)
    for dim in (2, 3):
        a, b = torch.randn(dim, dim, generator=gen), torch.randn(dim, generator=gen)
        mu, std = torch.rand(7, dim, generator=gen), torch.rand(7, dim, generator=gen)
        coords, rms = unscented_push(Affine(a, b), mu, std)
        torch.testing.assert_close(coords, mu @ a.t() + b)
        expected = ((a[None] ** 2) * (std[:, None, :] ** 2)).sum(-1).sqrt()  # Σ_j A_cj² t_j²
        torch.testing.assert_close(rms, expected)


def test_zero_spread_gives_zero_rms():
    coords, rms = unscented_push(
        Affine(torch.eye(2) * 3, torch.zeros(2)), torch.rand(4, 2), torch.zeros(4, 2)
    )
    assert (rms == 0).all()
