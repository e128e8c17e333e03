r"""What a fitted RLE model predicts: the point prediction and its RMS error.

:class:`RLEPredictive` holds the prediction maths of one RLE setting — the design, the ``Q``
family and the flow ``G_φ`` that the loss fits — in one object. The loss builds it around
its own flow (so the flow's parameters stay ``loss_module.flow_model.*`` in a state dict),
and the head owns it and answers for it (:meth:`BaseRLEHead.predictive`,
:meth:`BaseRLEHead.residual_rms`, :attr:`BaseRLEHead.q_distribution`).

For ``μ̂`` and ``σ̂ = sigmoid(ℓ)`` of shape ``(..., D)`` (:mod:`.predictive` gives the maths):

* ``'residual'``, ``'reparam'``: the point prediction is ``μ̂`` and the RMS error of
  coordinate ``c`` is ``σ̂_c · s_c``, ``s_c² = E_p[x̄_c²]`` under the density ``p`` the flow
  was fitted to (``density``: ``'flow'``, ``G_φ``; ``'product'``, ``Q·G_φ/Z_φ``; with
  ``flow_power`` ``γ ≠ 1``, ``G_φ^{κ_c}/Z`` for coordinate ``c`` with
  ``κ_c = clip(1/v_c, 1, γ)``, ``v_c`` the ``virial`` ``x̄_c ∂_c(−log G_φ)(x̄)`` measured in
  training, ``γ`` before it has data; :mod:`.predictive` explains why for ``'reparam'``), or,
  with a ``moment``, the mean square of ``x̄`` measured in training
  (:class:`~mmpose_rle.models.losses.ResidualMoment`; the flow's until its first update);
* ``'basic'``: the point prediction is ``f_φ(μ̂)`` and the RMS is that of
  ``f_φ(μ̂ + b s σ̂ ⊙ u) − f_φ(μ̂)`` over 1024 fixed quasi-random nodes ``u`` of the unit
  ``Q``, ``b = q_scale``; ``s = 1``, or, with a ``moment``, the RMS of
  ``(f_φ⁻¹(μ_g) − μ̂) / (b σ̂ r_Q)`` measured in training over both coordinates (one factor:
  the flow mixes them), ``r_Q`` the unit ``Q``'s RMS: how much wider the labels' preimages
  spread than the fitted ``Q`` says;
* without a flow (a loss of another kind): ``μ̂`` and ``σ̂``.

Example:
    >>> from mmpose_rle.models.flows import RealNVP
    >>> model = RLEPredictive(RealNVP().eval())
    >>> model.residual_rms().shape
    torch.Size([2])
"""

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from .predictive import density_samples, pushforward_rms, weighted_coverage, weighted_rms
from .quadrature import qmc_nodes
from .residual_moment import ResidualMoment

__all__ = ['RLEPredictive']

_RMS_POINTS = 16384  # points per proposal of the residual density
_PUSH_POINTS = 1024  # nodes of Q per keypoint for the basic design's predictive RMS
_UNIT_Q_RMS = dict(laplace=math.sqrt(2.0), gaussian=1.0)  # RMS of the unit-scale Q


class RLEPredictive:
    """The predictive distribution of one RLE setting (module docstring).

    Args:
        flow (nn.Module, optional): The flow ``G_φ`` the loss fits, shared with it (not a
            copy, not a submodule); None for a loss without one. Default: None.
        design (str): ``'residual'``, ``'reparam'`` or ``'basic'``. Default: ``'residual'``.
        q_distribution (str): ``'laplace'`` or ``'gaussian'``. Default: ``'laplace'``.
        density (str): The density of ``x̄`` the flow is fitted to, ``'flow'`` or
            ``'product'``. Default: ``'flow'``.
        q_scale (float): Scale ``b`` of ``Q`` per unit ``σ̂`` in the basic design. Default: 1.
        moment (ResidualMoment, optional): The measured second moment of the standardised
            error (:meth:`standardiser`) that gives ``s`` once it has data (shared with the
            loss, not a copy); None reads ``s`` off the flow (1 in the basic design).
            Default: None.
        flow_power (float): ``γ``, how many times the loss counts ``log G_φ`` against
            ``log σ̂_c`` once (``'reparam'``: ``D`` in ``'mmpose'`` and ``'official'``, 1 in
            ``'exact'``); used with the ``'flow'`` density. Default: 1.
        virial (ResidualMoment, optional): The measured mean of
            ``x̄_c ∂_c(−log G_φ)(x̄)`` that sets ``κ`` (:meth:`power`; shared with the loss).
            Default: None.

    :meth:`residual_rms` is cached while the flow is in eval mode; the loss drops the cache
    (:meth:`clear_cache`) when its mode changes and when a state dict is loaded.
    """

    def __init__(
        self,
        flow: Optional[nn.Module] = None,
        design: str = 'residual',
        q_distribution: str = 'laplace',
        density: str = 'flow',
        q_scale: float = 1.0,
        moment: Optional[ResidualMoment] = None,
        flow_power: float = 1.0,
        virial: Optional[ResidualMoment] = None,
    ) -> None:
        self.flow = flow
        self.moment = moment
        self.design = design
        self.q_distribution = q_distribution
        self.density = density
        self.q_scale = q_scale
        self.flow_power = flow_power
        self.virial = virial
        self.nodes: Optional[Tensor] = None
        if flow is not None and design == 'basic':
            self.nodes = qmc_nodes(flow.dim, q_distribution, _PUSH_POINTS, seed=2)
        self._rms_cache: Optional[Tuple[torch.device, torch.dtype, Tensor]] = None

    @classmethod
    def of(cls, loss: nn.Module) -> 'RLEPredictive':
        """The model of ``loss``: its ``predictive_model`` (an ``RLELoss``'s), else one
        without a flow, with the loss's ``q_distribution`` (``'laplace'`` if it has none)."""
        model = getattr(loss, 'predictive_model', None)
        if model is None:
            model = cls(q_distribution=getattr(loss, 'q_distribution', 'laplace'))
        return model

    def clear_cache(self) -> None:
        """Drop the cached :meth:`residual_rms`."""
        self._rms_cache = None

    def residual_samples(self) -> Tuple[Tensor, Tensor]:
        """Weighted points ``(x (M, D), log w (M,) or (M, D))`` of the density of ``x̄``
        (:func:`~mmpose_rle.models.losses.predictive.density_samples`, 16384 quasi-random
        points per proposal; the product density exists only in ``'exact'``, whose ``Q``
        has unit scale)."""
        return density_samples(
            self.flow, self.density, self.q_distribution, num_points=_RMS_POINTS, power=self.power()
        )

    def power(self) -> Optional[Tensor]:
        """``κ`` ``(D,)``, the power of ``G_φ`` that each coordinate of ``x̄`` follows:
        ``clip(1/v_c, 1, γ)`` from the measured ``virial`` ``v``, ``γ`` before it has data;
        None (``G_φ`` itself) with ``γ = 1`` or another density."""
        if self.flow_power == 1 or self.density != 'flow':
            return None
        gamma = self.flow_power
        measured = None if self.virial is None else self.virial.mean()
        if measured is None:
            return torch.full((self.flow.dim,), float(gamma))
        return 1 / measured.clamp(1 / gamma, 1.0)

    @torch.no_grad()
    def residual_rms(self) -> Optional[Tensor]:
        """``s`` ``(D,)``: the RMS of ``x̄`` per coordinate (in the basic design, 1), or the
        ``moment``'s once it has data (in the basic design, the RMS over its coordinates), on
        the flow's device; None without a flow. Cached while the flow is in eval mode."""
        if self.flow is None:
            return None
        param = next(self.flow.parameters())
        training = self.flow.training
        cached = self._rms_cache
        if cached is not None and cached[:2] == (param.device, param.dtype) and not training:
            return cached[2]
        measured = None if self.moment is None else self.moment.rms()
        if measured is not None and self.design == 'basic':
            rms = measured.to(param).square().mean().sqrt().expand(self.flow.dim).clone()
        elif measured is not None:
            rms = measured.to(param)
        elif self.design == 'basic':
            rms = param.new_ones(self.flow.dim)
        else:
            rms = weighted_rms(*self.residual_samples())
        self._rms_cache = None if training else (param.device, param.dtype, rms)
        return rms

    @torch.no_grad()
    def coverage(self, k: float) -> Tensor:
        """``P(|x̄_c| ≤ k s_c)`` ``(D,)`` under the fitted density with ``s_c`` its own RMS:
        the coverage of its shape, also with a ``moment`` (not for ``'basic'``)."""
        return weighted_coverage(*self.residual_samples(), k)

    @torch.no_grad()
    def point(self, mu: Tensor, sigma: Tensor) -> Tensor:
        """:meth:`predictive`'s point prediction ``(..., D)``: ``f_φ(μ̂)`` in the basic
        design, else ``μ̂`` itself (without computing the RMS)."""
        return self.predictive(mu, sigma)[0] if self.design == 'basic' else mu

    @torch.no_grad()
    def standardiser(self, sigma: Tensor) -> Tensor:
        """The scale ``(..., D)`` that the ``moment`` divides the error in ``μ̂``'s space by,
        for ``σ̂`` (after the sigmoid) of that shape:
        ``σ̂`` (the error is ``x̄``), or in the basic design ``b σ̂ r_Q``, ``r_Q`` the RMS of
        the unit ``Q`` (its error being the label's preimage ``f_φ⁻¹(μ_g) − μ̂``, of RMS
        ``b σ̂ r_Q`` when the fitted model is right)."""
        if self.design != 'basic':
            return sigma
        return sigma * (self.q_scale * _UNIT_Q_RMS[self.q_distribution])

    @torch.no_grad()
    def predictive(self, mu: Tensor, sigma: Tensor) -> Tuple[Tensor, Tensor]:
        """The point prediction and the predictive RMS error per coordinate.

        Args:
            mu (Tensor): ``μ̂``, shape ``(..., D)``, normalised coordinates.
            sigma (Tensor): ``σ̂`` (after the sigmoid), same shape.

        Returns:
            tuple[Tensor, Tensor]: coordinates and RMS, both of the input's shape, in the
            units of ``μ̂`` (module docstring).
        """
        if self.flow is None:
            return mu, sigma
        s = self.residual_rms().to(sigma)
        if self.design != 'basic':
            return mu, sigma * s
        dim = mu.shape[-1]
        if self.nodes.device != mu.device:
            self.nodes = self.nodes.to(mu.device)
        coords, rms = pushforward_rms(
            self.flow,
            mu.reshape(-1, dim),
            (sigma * s * self.q_scale).reshape(-1, dim),
            self.nodes,
        )
        return coords.reshape(mu.shape), rms.reshape(mu.shape)
