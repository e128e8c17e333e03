r"""The predictive distribution of the error that a fitted RLE model implies.

The loss fits ``σ̂`` and the flow ``G_φ`` together; what the model says about the error of
its point prediction follows from the density that the flow's parameters were fitted to.

* The normalised residual ``x̄ = (μ̂ − μ_g) / σ̂`` (``'residual'`` and ``'reparam'`` designs)
  has a fixed density ``p(x̄)``, so the RMS error of coordinate ``c`` is ``σ̂_c · s_c`` with
  ``s_c² = E_p[x̄_c²]``. Which ``p`` depends on the formulation: in ``'mmpose'`` and
  ``'official'`` the only φ-dependent term of the loss is ``−log G_φ(x̄)``, so the flow is
  fitted by maximum likelihood to the residuals themselves and ``p = G_φ``; ``'exact'``
  fits the normalised ``p = Q·G_φ / Z_φ`` (residual design) or ``G_φ`` (reparam).
* ``'basic'``: the coordinates are ``x = f_φ(z)`` with ``z = μ̂ + σ̂ ⊙ u``, ``u ~ Q`` of unit
  scale, and the prediction is ``f_φ(μ̂)``; the RMS of ``f_φ(z) − f_φ(μ̂)`` depends on
  ``(μ̂, σ̂)`` and is estimated per keypoint from fixed quasi-random nodes ``u_i`` of ``Q``
  (:func:`pushforward_rms`); this is exact up to the node error for any flow (no
  linearisation).

Expectations under ``p`` are self-normalised weighted sums over points ``x_i`` with
log-weights ``log w_i`` (:func:`density_samples`): for ``p = G_φ`` the points are
``x_i = f_φ(z_i)`` from Gaussian nodes ``z_i`` (equal weights); for ``p ∝ Q·G_φ`` they are
drawn from both ``G_φ`` and ``Q`` (multiple importance sampling, balance heuristic)::

    w(x) = Q(x) G_φ(x) / (½ Q(x) + ½ G_φ(x))

so the estimate stays accurate whichever of the two factors is the narrower.
:func:`weighted_rms` gives ``s`` and :func:`weighted_coverage` the probability
``P_p(|x̄_c| ≤ k s_c)`` that the model assigns to ``±k`` predicted RMS.

``'reparam'`` with ``log G_φ`` counted ``γ > 1`` times (``'mmpose'`` and ``'official'``
broadcast it over the ``D`` coordinates, ``γ = D``) and ``log σ̂_c`` once per coordinate
is, for a fixed flow, the likelihood of ``p(x̄) = G_φ(x̄)^γ / Z_γ`` in ``σ̂``; ``Z_γ`` is left
out, so the loss falls by ``D(γ − 1) log λ`` along the direction that widens ``σ̂`` by ``λ``
and narrows the flow by ``1/λ``. Training moves along it until one side stops: the flow at
its narrowest (its coupling log-scales at −1; errors small against the crop), where
``σ̂_c`` is the maximum-likelihood scale of ``G_φ^γ``, or ``σ̂_c`` near 1, where the flow is
the maximum-likelihood fit of ``x̄`` and ``p = G_φ``. Both are members of the family
``G_φ^κ / Z_κ``, told apart by its virial identity ``E_{G^κ}[x_c ∂_c(−log G_φ)] = 1/κ``
(integration by parts): :class:`~mmpose_rle.models.losses.RLEPredictive` measures the
left side on the training residuals and takes ``κ_c`` from it. :func:`power_log_weights`
turns ``G_φ``'s points into ``G_φ^κ``'s, one ``κ_c`` per coordinate (``log w`` of shape
``(M, D)``).

Example:
    >>> from mmpose_rle.models.flows import RealNVP
    >>> x, log_w = density_samples(RealNVP(), 'flow', 'gaussian', num_points=1024)
    >>> weighted_rms(x, log_w).shape
    torch.Size([2])
"""

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .quadrature import q_log_density, qmc_nodes

__all__ = [
    'DENSITIES',
    'power_log_weights',
    'flow_virial',
    'q_log_density',
    'density_samples',
    'weighted_rms',
    'weighted_coverage',
    'pushforward_rms',
]

DENSITIES = ('flow', 'product')


@torch.no_grad()
def density_samples(
    flow: nn.Module,
    density: str,
    q_distribution: str,
    q_scale: float = 1.0,
    num_points: int = 16384,
    power: Optional[Tensor] = None,
) -> Tuple[Tensor, Tensor]:
    """Weighted points ``(x (M, D), log w)`` of ``p = G_φ`` or ``p ∝ Q·G_φ``.

    Args:
        flow (nn.Module): The flow: ``flow(z)[0] = f_φ(z)``, ``flow.log_prob = log G_φ``.
        density (str): ``'flow'`` (``G_φ``) or ``'product'`` (``Q·G_φ``).
        q_distribution (str): ``'laplace'`` or ``'gaussian'``.
        q_scale (float): Scale ``b`` of ``Q`` (``√2`` for the official Laplace).
        num_points (int): Points per proposal (``M`` is twice that for ``'product'``).
        power (Tensor, optional): ``κ`` ``(D,)`` of ``'flow'``: coordinate ``c`` follows
            ``G_φ^{κ_c}`` (:func:`power_log_weights`). Default: None (``G_φ``).

    Returns:
        tuple[Tensor, Tensor]: ``x`` ``(M, D)`` and ``log w``, ``(M,)``, or ``(M, D)``
        (one weighting per coordinate) with ``power``.
    """
    if density not in DENSITIES:
        raise ValueError(f'density must be one of {DENSITIES}, got {density!r}')
    if power is not None and density != 'flow':
        raise ValueError(f"a power applies to the 'flow' density, not {density!r}")
    param = next(flow.parameters())
    z = qmc_nodes(flow.dim, 'gaussian', num_points).to(param)
    x_g = flow(z)[0]
    if density == 'flow' and power is not None:
        return x_g, power_log_weights(flow, x_g, power)
    if density == 'flow':
        return x_g, torch.zeros(len(x_g), dtype=x_g.dtype, device=x_g.device)
    x_q = qmc_nodes(flow.dim, q_distribution, num_points, seed=1).to(param) * q_scale
    x = torch.cat([x_g, x_q])
    log_g = flow.log_prob(x)
    log_q = q_log_density(x, q_distribution, q_scale)
    log_proposal = torch.logaddexp(log_q, log_g) - math.log(2)
    return x, log_q + log_g - log_proposal


@torch.no_grad()
def power_log_weights(flow: nn.Module, x: Tensor, power: Tensor) -> Tensor:
    """``log w_ic = (κ_c − 1) log G_φ(x_i)`` ``(M, D)``: self-normalised, these weights turn
    points ``x`` ``(M, D)`` of ``G_φ`` into points of ``G_φ^{κ_c} / Z_{κ_c}`` for coordinate
    ``c`` (``power`` ``κ`` of shape ``(D,)``)."""
    return (power.to(x) - 1) * flow.log_prob(x)[:, None]


def flow_virial(flow: nn.Module, x: Tensor) -> Tensor:
    """``v_c = x_c ∂_c(−log G_φ)(x)`` at points ``x`` ``(M, D)`` by autograd, ``(M, D)``,
    detached (the flow's parameters get no gradient from it)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(flow.log_prob(x).sum(), x)
    return -(x * grad).detach()


def _normalised_weights(log_w: Tensor) -> Tensor:
    """Self-normalised weights ``(M, 1)`` or ``(M, D)`` from ``log w`` ``(M,)`` or ``(M, D)``."""
    w = torch.softmax(log_w, dim=0)
    return w[:, None] if w.dim() == 1 else w


def weighted_rms(x: Tensor, log_w: Tensor) -> Tensor:
    """``s_c = sqrt(Σ w_ic x_ic² / Σ w_ic)``, shape ``(D,)``; ``log w`` ``(M,)`` or ``(M, D)``."""
    return (_normalised_weights(log_w) * x**2).sum(0).sqrt()


def weighted_coverage(x: Tensor, log_w: Tensor, k: float) -> Tensor:
    """``P(|x_c| ≤ k s_c)`` per coordinate, ``s`` = :func:`weighted_rms`; shape ``(D,)``."""
    w = _normalised_weights(log_w)
    inside = (x.abs() <= k * weighted_rms(x, log_w)).to(w)
    return (w * inside).sum(0)


def pushforward_rms(
    flow: nn.Module, mu: Tensor, scale: Tensor, unit_nodes: Tensor
) -> Tuple[Tensor, Tensor]:
    """``f_φ(μ̂)`` and the RMS of ``f_φ(μ̂ + scale ⊙ u) − f_φ(μ̂)`` over the nodes ``u``.

    Args:
        flow (nn.Module): The flow; ``flow(z)[0]`` is ``f_φ(z)``.
        mu (Tensor): ``μ̂``, shape ``(B, D)``.
        scale (Tensor): Scale of ``Q`` per coordinate (``σ̂``, or ``√2 σ̂`` for the
            official Laplace), ``(B, D)``.
        unit_nodes (Tensor): ``(M, D)`` nodes of the unit ``Q`` (:func:`qmc_nodes`).

    Returns:
        tuple[Tensor, Tensor]: ``f_φ(μ̂)`` and the RMS, both ``(B, D)``.
    """
    b, d = mu.shape
    centre = flow(mu)[0]
    z = mu[:, None] + scale[:, None] * unit_nodes.to(mu)[None]  # (B, M, D)
    mapped = flow(z.reshape(-1, d))[0].reshape(b, -1, d)
    return centre, ((mapped - centre[:, None]) ** 2).mean(dim=1).sqrt()
