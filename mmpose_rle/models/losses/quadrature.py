r"""Quasi-Monte Carlo nodes and the normaliser of the residual design's density.

The estimates use fixed nodes (a scrambled Sobol sequence, seed 0, mapped through the
inverse CDF of the unit Laplace or Gaussian), so they are deterministic, differentiable in
the flow's parameters and draw nothing from the global random generators (which keeps a
resumed run exact). With ``M`` nodes the error falls roughly as ``(log M)^D / M``.

* :func:`log_normaliser` — ``log Z_φ`` of the residual design's density ``Q(x) G_φ(x) / Z_φ``
  (Li et al. write ``Q·G`` without it; it is ``1`` only when ``G_φ`` is uniform)::

      Z_φ = ∫ Q(x) G_φ(x) dx = E_{x~Q}[G_φ(x)] ≈ (1/M) Σ_i G_φ(x_i),   x_i = F_Q⁻¹(s_i)

  Cost: one ``log_prob`` of the flow on ``M`` points per loss evaluation (``M = 4096`` by
  default, about as much flow work as a batch of 64 COCO instances).

Example:
    >>> nodes = qmc_nodes(2, 'laplace', 1024)
    >>> nodes.shape
    torch.Size([1024, 2])
"""

import math

import torch
from torch import Tensor, nn

__all__ = ['qmc_nodes', 'log_normaliser']


def qmc_nodes(dim: int, distribution: str, num_points: int, seed: int = 0) -> Tensor:
    """``(num_points, dim)`` quasi-random draws of the unit ``'laplace'`` or ``'gaussian'``.

    The Sobol points are scrambled (so none lies on the cube's boundary, where the inverse
    CDF is infinite) and kept in ``[2⁻²⁴, 1 − 2⁻²⁴]``.
    """
    if distribution not in ('laplace', 'gaussian'):
        raise ValueError(f"distribution must be 'laplace' or 'gaussian', got {distribution!r}")
    engine = torch.quasirandom.SobolEngine(dim, scramble=True, seed=seed)
    s = engine.draw(num_points, dtype=torch.float64).clamp(2**-24, 1 - 2**-24)
    if distribution == 'gaussian':
        x = torch.special.ndtri(s)
    else:  # inverse CDF of the unit Laplace
        c = s - 0.5
        x = -torch.sign(c) * torch.log1p(-2 * c.abs())
    return x.float()


def log_normaliser(flow: nn.Module, nodes: Tensor) -> Tensor:
    """``log Z_φ = log E_{x~Q}[G_φ(x)]`` from nodes of ``Q`` (module docstring).

    Args:
        flow (nn.Module): The flow; ``flow.log_prob`` is ``log G_φ``.
        nodes (Tensor): ``(M, D)`` nodes of ``Q`` (:func:`qmc_nodes`).

    Returns:
        Tensor: A scalar, differentiable in the flow's parameters.
    """
    return torch.logsumexp(flow.log_prob(nodes), dim=0) - math.log(len(nodes))
