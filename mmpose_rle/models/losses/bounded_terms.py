r"""The RLE loss beyond its bounds: finite, bounded, and pulling the right way.

Two bounds keep training finite: ``σ̂ ≥ σ_min`` (``sigma_min``) and ``|x̄_c| ≤ B``
(``max_flow_input``). A keypoint inside both is *ordinary* and
:class:`~mmpose_rle.models.losses.RLELoss` computes it with the references' own operations.
For the others, :func:`bounded_terms` returns the per-coordinate parts of a surrogate
(coefficients ``a_nf, β, a_q, κ, ρ`` of :mod:`~mmpose_rle.models.losses.term_spec`; ``r`` is
the residual, ``μ̂ − μ_g`` or ``f_φ⁻¹(μ_g) − μ̂`` in the ``'basic'`` design):

**Value** — the loss at the floored scale ``σ_f = max(σ̂, σ_min)``, ``x̄_f = r / σ_f``, with
``ρ`` and ``log G_φ`` continued linearly beyond the box ``|x̄_c| ≤ B`` (value at the box
point ``u_f = clip(x̄_f, ±B)`` plus the detached slope there times the overshoot)::

    nf_c = a_nf log σ_f,c − β [log G_φ(u_f) + ∇log G_φ(u_f) · (x̄_f − u_f)]
    q_c  = a_q  log σ_f,c + κ [ρ(u_f,c) + ρ'(u_f,c) (x̄_f,c − u_f,c)] + c₀

**Gradients** — those of the unbounded loss, evaluated at the *true* normalised residual
clipped to the box, ``u = clip(r / σ̂, ±B)``, with ``1/σ̂`` floored at ``1/σ_f``::

    ∂q_c/∂r_c      = κ ρ'(u_c) / σ_f,c
    ∂q_c/∂log σ̂_c  = a_q − κ u_c ρ'(u_c)
    ∂nf_c/∂r_j     = −β ∂_j log G_φ(u) / σ_f,j
    ∂nf_c/∂log σ̂_j = a_nf [j = c] + β u_j ∂_j log G_φ(u)
    ∂nf_c/∂φ       = −β ∂ log G_φ(u) / ∂φ

(``∂ log σ̂ / ∂ℓ = 1 − σ̂`` for the σ logit ``ℓ``). Inside the box these are the unbounded
loss's gradients times ``σ̂/σ_f ∈ (0, 1]`` on the ``r`` path, so **every sign is the
unbounded loss's**: ``μ̂`` is pulled toward the label and ``σ̂`` pushed up when ``|x̄|`` is
large for it, down when small. Beyond the box the slopes at the box's face stand in for the
slopes further out (for the Laplace term they are equal).

**Bounds** — with ``G_B = max_{|x|∞ ≤ B} max_j |∂_j log G_φ(x)|`` (a property of the flow and
of ``B`` alone) and ``ρ'_max = 1`` (Laplace) or ``B`` (Gaussian), per keypoint summed over
its ``D`` coordinates (unit weights, before the batch average), ordinary or not::

    |∂L/∂μ̂_c| ≤ (κ ρ'_max + D β G_B) / σ_min
    |∂L/∂ℓ_c|  ≤ a_nf + a_q + B (κ ρ'_max + D β G_B)

(``G_B = 0`` in the ``'basic'`` design, whose flow term does not depend on the prediction),
and the flow's parameters only ever see ``|x̄_c| ≤ B`` (in the basic design: labels within
``B`` of the crop's centre, :meth:`RLELoss._label_in_box`). The value grows at most linearly
with the error, with slope ``(κ ρ'_max + D β G_B) / σ_min``.
"""

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .term_spec import TermSpec

__all__ = ['bounded_terms', 'clip_to_box', 'NO_BOUND']

#: The clip of ``u`` when ``max_flow_input`` is None (only ``sigma_min`` is set): keeps the
#: σ-gradient of a keypoint below the floor finite.
NO_BOUND = 1e4


def _rho(kind: str, t: Tensor) -> Tuple[Tensor, Tensor]:
    """``ρ(t)`` and ``ρ'(t)``: ``|t|, sign t`` or ``t²/2, t``."""
    if kind == 'abs':
        return t.abs(), t.sign()
    return 0.5 * t**2, t


def _attach(value: Tensor, surrogate: Tensor) -> Tensor:
    """``value`` with the gradients of ``surrogate`` (whose values stay finite)."""
    return value + (surrogate - surrogate.detach())


def clip_to_box(residual: Tensor, log_sigma: Tensor, bound: float) -> Tuple[Tensor, Tensor, Tensor]:
    """``x̄ = r / σ̂`` brought into the box ``|x̄_c| ≤ bound``, without overflow.

    Args:
        residual (Tensor): ``r``, shape ``(M, D)``.
        log_sigma (Tensor): ``log σ̂``, same shape (finite even where ``σ̂`` underflows).
        bound (float): ``B``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``clip(x̄_c, ±B)`` per coordinate (for the
        separable ``ρ``), ``x̄ · min(1, B / max_c |x̄_c|)``, the box point on the ray of
        ``x̄`` (for the flow, which is not separable), both ``(M, D)`` and equal to ``x̄``
        inside the box, and the ``(M, 1)`` mask of the rows outside the box.
    """
    log_bound = math.log(bound)
    log_abs = torch.log(residual.abs()) - log_sigma  # log |x̄_c|, −inf where r_c = 0
    inside = log_abs <= log_bound
    on_face = bound * torch.sign(residual)
    box = torch.where(
        inside, torch.sign(residual) * torch.exp(log_abs.clamp_max(log_bound)), on_face
    )
    log_max = log_abs.amax(-1, keepdim=True)
    outside = log_max > log_bound
    ray = on_face * torch.exp(torch.where(outside, log_abs - log_max, 0.0))
    return box, torch.where(outside, ray, box), outside


def _radial(slope: Tensor, point: Tensor, outside: Tensor) -> Tensor:
    """Outside the box, keep the part of ``∇ log G_φ`` along the ray that makes ``−log G_φ``
    grow outwards: ``û · min(0, ∇ log G_φ · û)``, ``û = point / |point|``."""
    direction = point / point.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    along = (slope * direction).sum(-1, keepdim=True).clamp_max(0.0)
    return torch.where(outside, along * direction, slope)


def _log_density_and_slopes(
    flow: nn.Module, u: Tensor, u_f: Tensor
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """``log G_φ`` and ``∇_x log G_φ`` at ``u`` and ``u_f`` (``(M, D)`` each), in one pass.

    ``log G_φ(u)`` keeps its graph to the flow's parameters; the rest is detached.
    """
    m = len(u)
    with torch.enable_grad():
        points = torch.cat([u, u_f]).requires_grad_(True)
        log_g = flow.log_prob(points)
        (slope,) = torch.autograd.grad(log_g.sum(), points, retain_graph=True)
    return log_g[:m], slope[:m], log_g[m:].detach(), slope[m:]


def _bounded_q(
    spec: TermSpec,
    log_sigma_f: Tensor,
    x_f: Tensor,
    u_box: Tensor,
    u_f_box: Tensor,
    scaled: Tensor,
    d_log_sigma: Tensor,
) -> Tensor:
    """The ``−log Q`` part ``q_c`` ``(M, D)`` (module docstring): its value at the floored
    scale, ``ρ`` continued linearly beyond the box, with the gradients at ``u``.

    Args:
        spec (TermSpec): Coefficients of the setting.
        log_sigma_f (Tensor): ``log σ_f``, shape ``(M, D)`` (as every tensor here).
        x_f (Tensor): ``x̄_f = r / σ_f``.
        u_box (Tensor): ``u`` clipped per coordinate.
        u_f_box (Tensor): ``u_f`` clipped per coordinate.
        scaled (Tensor): ``r / σ_f`` with its graph to ``r``.
        d_log_sigma (Tensor): Value 0, gradient that of ``log σ̂``.
    """
    rho_f, slope_f = _rho(spec.rho, u_f_box)
    slope_u = _rho(spec.rho, u_box)[1]
    value = spec.a_q * log_sigma_f + spec.kappa * (rho_f + slope_f * (x_f - u_f_box)) + spec.const
    carrier = scaled - u_box * d_log_sigma  # ∂/∂log σ̂ = −u
    return _attach(value, spec.a_q * d_log_sigma + spec.kappa * slope_u * carrier)


def bounded_terms(
    spec: TermSpec,
    residual: Tensor,
    sigma_logit: Tensor,
    sigma_min: Optional[float],
    bound: Optional[float],
    flow: Optional[nn.Module] = None,
) -> Tuple[Tensor, Optional[Tensor]]:
    """The bounded surrogate of the loss parts of non-ordinary keypoints (module docstring).

    ``ρ`` is separable and uses the box point per coordinate; ``log G_φ`` is not, and uses
    the box point on the ray of ``x̄`` (:func:`clip_to_box`), so that the direction of an
    outlier's residual, and with it the sign of every slope, is kept.

    Args:
        spec (TermSpec): Coefficients of the setting.
        residual (Tensor): ``r``, shape ``(M, D)``, with its graph to ``μ̂`` (and to the flow
            in the ``'basic'`` design).
        sigma_logit (Tensor): The σ logits ``ℓ``, shape ``(M, D)``.
        sigma_min (float, optional): The floor of ``σ̂``.
        bound (float, optional): ``B``; :data:`NO_BOUND` when None.
        flow (nn.Module, optional): The flow whose ``log G_φ(x̄)`` enters the flow part;
            None in the ``'basic'`` design, whose flow part (``−β log |det ∂f⁻¹/∂μ_g|``)
            does not depend on the prediction and is added by the caller.

    Returns:
        tuple: ``nf`` and ``q`` (None without a ``Q`` part), each ``(M, D)``.
    """
    bound = bound or NO_BOUND
    log_sigma = F.logsigmoid(sigma_logit)
    d_log_sigma = log_sigma - log_sigma.detach()  # value 0, gradient 1 − σ̂
    with torch.no_grad():
        floor = math.log(sigma_min) if sigma_min else math.log(torch.finfo(residual.dtype).tiny)
        log_sigma_f = log_sigma.clamp_min(floor)
        inv_sigma_f = torch.exp(-log_sigma_f)
        x_f = residual * inv_sigma_f
        u_box, u_ray, out = clip_to_box(residual, log_sigma, bound)
        u_f_box, u_f_ray, out_f = clip_to_box(residual, log_sigma_f, bound)
    scaled = residual * inv_sigma_f  # ∂/∂r = 1/σ_f: the derivative of x̄, floored

    q = None
    if spec.has_q:
        q = _bounded_q(spec, log_sigma_f, x_f, u_box, u_f_box, scaled, d_log_sigma)
    value = spec.a_nf * log_sigma_f
    surrogate = spec.a_nf * d_log_sigma
    if flow is not None:
        log_g_u, grad_u, log_g_f, grad_f = _log_density_and_slopes(flow, u_ray, u_f_ray)
        grad_u, grad_f = _radial(grad_u, u_ray, out), _radial(grad_f, u_f_ray, out_f)
        overshoot = (grad_f * (x_f - u_f_ray)).sum(-1, keepdim=True)
        value = value - spec.beta * (log_g_f[:, None] + overshoot)
        carrier = scaled - u_ray * d_log_sigma
        surrogate = surrogate - spec.beta * (
            (grad_u * carrier).sum(-1, keepdim=True) + log_g_u[:, None]
        )
    return _attach(value, surrogate), q
