"""Helpers shared by the tests."""
import torch

__all__ = ['randomise_']


def randomise_(module: torch.nn.Module, std: float = 0.3, seed: int = 0) -> torch.nn.Module:
    """Replace every parameter by N(0, std²) draws: the default flow init is close to the
    identity and would let wrong maths pass."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
    return module
