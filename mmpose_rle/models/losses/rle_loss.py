r"""RLE loss: the negative log-likelihood of the ground truth under a flow density.

Notation (all per keypoint, ``D`` = 2 coordinates ``c``): the head predicts the mean
``μ̂`` and the scale ``σ̂ = sigmoid(σ_logit)``; ``μ_g`` is the ground truth;
``x̄ = (μ̂ − μ_g) / σ̂`` the normalised residual; ``G_φ`` the RealNVP density (so
``log G_φ(x̄)`` is ``flow_model.log_prob``); ``Q`` a unit-scale Laplace or Gaussian.

Designs (Li et al., ICCV 2021, arXiv 2107.11291, Sec. 3):

* ``'basic'`` (Sec. 3.1, "basic design"): the head's distribution
  ``P_Θ(z | I) = Q((z − μ̂) / σ̂) / σ̂`` is transformed by the flow ``x = f_φ(z)`` into the
  distribution of the coordinates::

      L = − log P_Θ(f_φ⁻¹(μ_g) | I) − log |det ∂f_φ⁻¹ / ∂μ_g|

  At test time the prediction is pushed through the flow, ``f_φ(μ̂)``.
* ``'reparam'`` (Sec. 3.2, reparameterisation; MMPose's ``residual=False``)::

      L = log σ̂ − log G_φ(x̄)

* ``'residual'`` (Sec. 3.3, residual log-likelihood, the default)::

      L = log σ̂ − log Q(x̄) − log G_φ(x̄) (+ log s, a constant of the scale)

Formulations: the three designs are written per coordinate, and the references differ in
their constants and in how often each term is counted.

* ``'mmpose'`` (default; MMPose's ``RLELoss``), per coordinate ``c``::

      L_c = log σ̂_c − log G_φ(x̄) + [log(2 σ̂_c) + |x̄_c|]                 (Laplace Q)
      L_c = log σ̂_c − log G_φ(x̄) + [log(√(2π) σ̂_c) + x̄_c² / 2]          (Gaussian Q)

  with ``x̄ = (μ̂ − μ_g) / (σ̂ + 1e-9)``; the bracket is absent for ``'reparam'``.
  ``log G_φ`` (one value per keypoint) is broadcast over both coordinates, and ``log σ̂``
  appears both as the Jacobian of the normalisation and inside ``Q``'s normaliser:
  after summing over ``c``, ``log G_φ`` and ``log σ̂`` are each counted twice.
* ``'official'`` (the authors' code, ``rlepose/models/criterion.py``): the Laplace term
  is ``log(√(2π) σ̂_c) + |μ_g,c − μ̂_c| / (√2 σ̂_c + 1e-9)`` (a Laplace of scale ``√2 σ̂``
  with a Gaussian normaliser), the flow sees ``x̄ = (μ̂ − μ_g) / σ̂`` without ``ε``,
  and the flow part ``log σ̂_c − log G_φ`` is weighted by the first weight column only.
  The official code has no Gaussian ``Q``; here it is the same as ``'mmpose'``'s.
* ``'exact'`` (ours): the true negative log-likelihood, each term counted once::

      L = Σ_c [log σ̂_c + q(x̄_c)] − log G_φ(x̄) + log Z_φ,   q = log 2 + |·| or ½ log 2π + (·)²/2

  (``q`` absent for ``'reparam'``). ``Z_φ = ∫ Q G_φ`` normalises the residual design's
  density ``Q·G_φ`` (the paper leaves it out; it depends on the flow's parameters); it is
  estimated by quasi-Monte Carlo with ``normaliser_points`` nodes of a Laplace three times
  wider than ``Q``, importance-weighted to it
  (:mod:`~mmpose_rle.models.losses.quadrature`), so ``exp(−L)`` integrates to 1 over the
  label for every design. In the ``'basic'`` design ``q`` is evaluated at
  ``(f_φ⁻¹(μ_g) − μ̂) / σ̂`` and ``log G_φ`` is replaced by ``log |det ∂f_φ⁻¹/∂μ_g|``;
  ``'mmpose'`` and ``'official'`` keep their counting there too.

Reductions, as in MMPose: with ``use_target_weight`` the per-coordinate loss is multiplied
by ``target_weight``; with ``size_average`` the sum is divided by the batch size ``N``.

Shapes: ``pred``, ``sigma``, ``target``: ``(N, K, D)``; ``target_weight``: ``(N, K)``,
``(N, K, 1)`` or ``(N, K, D)``. The result is a scalar. The loss is a negative
log-*density*, so negative values are normal.
"""

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from mmpose_rle.registry import MODELS

from .bounded_terms import NO_BOUND, bounded_terms, clip_to_box
from .predictive import flow_virial
from .quadrature import log_normaliser, normaliser_nodes
from .residual_moment import ResidualMoment
from .rle_predictive import RLEPredictive
from .sanitize import check_finite_outputs, mask_non_finite_labels
from .term_spec import TermSpec, term_spec

__all__ = ['RLELoss', 'DESIGNS', 'FORMULATIONS', 'Q_DISTRIBUTIONS', 'RMS_SOURCES']

DESIGNS = ('residual', 'reparam', 'basic')
FORMULATIONS = ('mmpose', 'official', 'exact')
Q_DISTRIBUTIONS = ('laplace', 'gaussian')
RMS_SOURCES = ('flow', 'moment')

_EPS = 1e-9  # the references' epsilon in the normalisation


def _reference_rho(error: Tensor, laplace: bool) -> Tensor:
    """``ρ(x̄)`` per coordinate, the references' operations: ``|x̄|`` or ``x̄² / 2``."""
    return torch.abs(error) if laplace else 0.5 * error**2


def _check_choice(name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f'RLELoss: {name} must be one of {choices}, got {value!r}')


@MODELS.register_module()
class RLELoss(nn.Module):
    """Residual log-likelihood estimation loss with a choice of design and formulation.

    Args:
        use_target_weight (bool): Multiply the per-coordinate loss by ``target_weight``.
            Default: False.
        size_average (bool): Divide the summed loss by the batch size. Default: True.
        residual (bool, optional): MMPose's switch: ``False`` selects the ``'reparam'``
            design, ``True`` (or ``None``) the ``'residual'`` one. Leave it unset when
            giving ``design``; a contradicting pair raises. Default: None.
        q_distribution (str): ``'laplace'`` or ``'gaussian'``. Default: ``'laplace'``.
        design (str, optional): ``'residual'``, ``'reparam'`` or ``'basic'``. Default:
            derived from ``residual``.
        formulation (str): ``'mmpose'``, ``'official'`` or ``'exact'`` (see the module
            docstring). Default: ``'mmpose'``.
        flow (dict): Config of the flow, built in ``mmpose_rle``'s registry. Default:
            ``dict(type='mmpose_rle.RealNVP')``.
        sigma_min (float, optional): Floor ``σ_min`` of ``σ̂`` (a fraction of the input
            size). Default: 1e-3.
        max_flow_input (float, optional): Bound ``B`` of ``|x̄_c|``. Default: 20.
        normaliser_points (int): Quasi-Monte Carlo nodes of ``log Z_φ`` (``'exact'``
            formulation, residual design). Default: 4096.
        rms_source (str): Where the RMS ``s`` of ``x̄`` in the reported RMS error ``σ̂ · s``
            comes from: ``'flow'``, the fitted density (:meth:`residual_rms`; 1 in the
            basic design; in ``'reparam'`` with ``'mmpose'`` or ``'official'``, the power
            ``G_φ^κ`` that the virial measured over the last training steps picks,
            :mod:`~mmpose_rle.models.losses.predictive`); ``'moment'``, the mean square of
            ``x̄`` measured over the last training steps
            (:class:`~mmpose_rle.models.losses.ResidualMoment`, the flow's until the first
            training step), which follows heavy tails that the flow cannot and needs no
            converged flow. In the basic design it is the RMS of the labels'
            preimages ``f_φ⁻¹(μ_g) − μ̂`` over the fitted ``Q``'s, one factor for both
            coordinates, which widens the ``Q`` that :meth:`predictive` pushes through the
            flow. The loss itself is the same. Default (None): ``'moment'`` in the basic
            design (where the flow's fit leaves Q's scale off on residuals whose shape Q does
            not match) and in the ``'exact'`` residual design (where the flow's fit misses
            by up to 10 %), ``'flow'`` in the others.
        rms_momentum (float): The EMA momentum of the measured moment or virial.
            Default: 0.98.

    Robustness (ours): a keypoint with ``σ̂ ≥ sigma_min`` and every ``|x̄_c| ≤
    max_flow_input`` is *ordinary* and computed with the references' operations, so on
    such inputs the loss and its gradients are bit-identical to MMPose's. Any other
    keypoint gets the bounded continuation of
    :mod:`~mmpose_rle.models.losses.bounded_terms`: its value is the loss at
    ``max(σ̂, σ_min)`` with ``−log Q`` and ``−log G_φ`` continued linearly beyond
    ``|x̄_c| = B``; its gradients have the signs of the unbounded loss's (``μ̂`` pulled
    toward the label, ``σ̂`` pushed up when the error is large for it and down when small)
    and are bounded by constants of the flow and the bounds alone, whatever the error and
    ``σ̂``: ``|∂L/∂μ̂_c| ≤ (κ ρ'_max + D β G_B) / σ_min`` and ``|∂L/∂ℓ_c| ≤ a_nf + a_q +
    B (κ ρ'_max + D β G_B)`` per keypoint, ``ℓ`` the σ logit (that module gives the
    terms). ``None`` disables a bound; with both disabled the loss is the references'
    unbounded maths (MMPose's gives 4e20 at a σ logit of −30).
    Targets or weights that are NaN or inf are masked with a warning naming them
    (:func:`~mmpose_rle.models.losses.sanitize.mask_non_finite_labels`); non-finite
    network outputs raise ``FloatingPointError``. The loss is computed in float32 (or
    float64) with autocast off, so mixed-precision training keeps the flow accurate.

    Besides the loss, it builds the :class:`~mmpose_rle.models.losses.RLEPredictive` of
    its setting around its flow (``predictive_model``, which the head owns):
    :meth:`predictive`, :meth:`residual_rms` and :meth:`predictive_coverage` answer from it.
    """

    def __init__(
        self,
        use_target_weight: bool = False,
        size_average: bool = True,
        residual: Optional[bool] = None,
        q_distribution: str = 'laplace',
        design: Optional[str] = None,
        formulation: str = 'mmpose',
        flow: dict = dict(type='mmpose_rle.RealNVP'),
        sigma_min: Optional[float] = 1e-3,
        max_flow_input: Optional[float] = 20.0,
        normaliser_points: int = 4096,
        rms_source: Optional[str] = None,
        rms_momentum: float = 0.98,
    ) -> None:
        super().__init__()
        if design is None:
            design = 'reparam' if residual is False else 'residual'
        elif residual is not None and bool(residual) != (design != 'reparam'):
            raise ValueError(
                f'RLELoss: residual={residual} contradicts design={design!r}; give only `design`'
            )
        _check_choice('design', design, DESIGNS)
        _check_choice('formulation', formulation, FORMULATIONS)
        _check_choice('q_distribution', q_distribution, Q_DISTRIBUTIONS)
        normalised = formulation == 'exact' and design == 'residual'
        if rms_source is None:
            rms_source = 'moment' if design == 'basic' or normalised else 'flow'
        _check_choice('rms_source', rms_source, RMS_SOURCES)
        if sigma_min is not None and not 0 < sigma_min < 1:
            raise ValueError(f'RLELoss: sigma_min must lie in (0, 1), got {sigma_min!r}')
        if max_flow_input is not None and not max_flow_input > 0:
            raise ValueError(f'RLELoss: max_flow_input must be positive, got {max_flow_input!r}')
        self.use_target_weight = use_target_weight
        self.size_average = size_average
        self.design = design
        self.residual = design == 'residual'
        self.formulation = formulation
        self.q_distribution = q_distribution
        self.flow_model = MODELS.build(flow)
        self.sigma_min = sigma_min
        self.max_flow_input = max_flow_input
        self.spec: TermSpec = term_spec(design, q_distribution, formulation, self.flow_model.dim)
        self.normalised = normalised
        if self.normalised:
            nodes, log_weights = normaliser_nodes(
                self.flow_model.dim, q_distribution, normaliser_points
            )
            self.register_buffer('normaliser_nodes', nodes, persistent=False)
            self.register_buffer('normaliser_log_weights', log_weights, persistent=False)
        self.rms_source = rms_source
        self.residual_moment = (
            ResidualMoment(self.flow_model.dim, rms_momentum) if rms_source == 'moment' else None
        )
        flow_power = self.spec.beta * self.flow_model.dim if design == 'reparam' else 1.0
        self.residual_virial = (
            ResidualMoment(self.flow_model.dim, rms_momentum)
            if flow_power != 1 and rms_source == 'flow'
            else None
        )
        self.predictive_model = RLEPredictive(
            self.flow_model,
            design,
            q_distribution,
            self.residual_density,
            self.basic_q_scale,
            moment=self.residual_moment,
            flow_power=flow_power,
            virial=self.residual_virial,
        )
        self.register_load_state_dict_post_hook(lambda module, keys: module.clear_cache())

    def extra_repr(self) -> str:
        return (
            f'design={self.design!r}, formulation={self.formulation!r}, '
            f'q_distribution={self.q_distribution!r}, '
            f'use_target_weight={self.use_target_weight}, rms_source={self.rms_source!r}'
        )

    def _neg_log_q(self, residual: Tensor, sigma: Tensor, error: Optional[Tensor]) -> Tensor:
        """``−log Q`` term per coordinate, including its normaliser (module docstring).

        Args:
            residual (Tensor): ``μ̂ − μ_g`` (or ``z_g − μ̂`` in the basic design),
                shape ``(N, K, D)``.
            sigma (Tensor): ``σ̂ ∈ (0, 1)``, shape ``(N, K, D)``.
            error (Tensor, optional): ``residual / (σ̂ + 1e-9)`` when already computed
                (MMPose computes it once for the flow and ``Q``, which fixes the rounding of
                the gradients).
        """
        spec = self.spec
        laplace = self.q_distribution == 'laplace'
        if self.formulation == 'official' and laplace:
            return torch.log(sigma * spec.norm) + torch.abs(residual) / (spec.scale * sigma + _EPS)
        if error is None:
            error = residual / (sigma + _EPS)
        if self.formulation == 'exact':
            return spec.const + _reference_rho(error, laplace)
        return torch.log(sigma * spec.norm) + _reference_rho(error, laplace)

    def forward(
        self, pred: Tensor, sigma: Tensor, target: Tensor, target_weight: Optional[Tensor] = None
    ) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): Predicted coordinates ``μ̂``, shape ``(N, K, D)``.
            sigma (Tensor): Raw scale logits (``σ̂ = sigmoid(sigma)``), ``(N, K, D)``.
            target (Tensor): Ground-truth coordinates ``μ_g``, ``(N, K, D)``.
            target_weight (Tensor, optional): Per-keypoint or per-coordinate weights,
                ``(N, K)``, ``(N, K, 1)`` or ``(N, K, D)``; required with
                ``use_target_weight``.

        Returns:
            Tensor: The scalar loss.
        """
        self._check_inputs(pred, sigma, target, target_weight)
        check_finite_outputs(pred, sigma)
        dtype = torch.promote_types(pred.dtype, torch.float32)
        with torch.autocast(device_type=pred.device.type, enabled=False):
            pred, sigma, target = pred.to(dtype), sigma.to(dtype), target.to(dtype)
            if target_weight is not None:
                target_weight = target_weight.to(dtype)
            target, weight, masked = mask_non_finite_labels(
                target, target_weight if self.use_target_weight else None
            )
            force = weight is None and bool(masked.any())
            if force:  # no weights asked for, but masked keypoints need one
                weight = (~masked).to(dtype)
            measured = self.residual_moment is not None or self.residual_virial is not None
            if measured and self.training and torch.is_grad_enabled():
                visible = self._visible(weight, target_weight, masked)
                if self.residual_moment is not None:
                    self._update_moment(pred, sigma, target, visible)
                if self.residual_virial is not None:
                    self._update_virial(pred, sigma, target, visible)
            return self._reduce(pred, sigma, target, weight, force)

    @torch.no_grad()
    def _update_moment(self, pred: Tensor, sigma: Tensor, target: Tensor, weight: Tensor) -> None:
        """Add a step to the measured moment: ``x̄``, or in the basic design the label's
        preimage ``f_φ⁻¹(μ_g)`` (of the label moved into the box, as the loss does) against
        ``μ̂`` (:meth:`RLEPredictive.standardiser <mmpose_rle.models.losses.RLEPredictive>`)."""
        if self.design == 'basic':
            shape = target.shape
            target = self.flow_model.inverse(self._label_in_box(target.reshape(-1, shape[-1])))[0]
            target = target.reshape(shape)
        scale = self.predictive_model.standardiser(torch.sigmoid(sigma))
        self.residual_moment.update(pred, scale, target, weight)

    @torch.no_grad()
    def _update_virial(self, pred: Tensor, sigma: Tensor, target: Tensor, weight: Tensor) -> None:
        """Add a step to the measured virial ``x̄_c ∂_c(−log G_φ)(x̄)`` of ``'reparam'``
        (:func:`~mmpose_rle.models.losses.predictive.flow_virial`) over the keypoints inside
        both bounds, where the loss is the references'."""
        shape = pred.shape
        error = (pred - target) / torch.sigmoid(sigma)
        ordinary = self._ordinary(pred, sigma, target, target)
        if ordinary is not None:
            weight = weight * (ordinary if weight.dim() == 2 else ordinary[..., None])
            error = torch.where(ordinary[..., None], error, torch.zeros_like(error))
        virial = flow_virial(self.flow_model, error.reshape(-1, shape[-1])).reshape(shape)
        self.residual_virial.add(virial, weight)

    @staticmethod
    def _visible(
        weight: Optional[Tensor], target_weight: Optional[Tensor], masked: Tensor
    ) -> Tensor:
        """The keypoint weights the measured moment counts: the loss's own, else the given
        ``target_weight`` (non-finite entries as 0) without the masked keypoints."""
        if weight is not None:
            return weight
        keep = (~masked).to(torch.float64)
        if target_weight is None:
            return keep
        given = torch.nan_to_num(target_weight.double(), nan=0.0, posinf=0.0, neginf=0.0)
        return given * (keep if given.dim() == 2 else keep[..., None])

    def _reduce(
        self,
        pred: Tensor,
        sigma: Tensor,
        target: Tensor,
        target_weight: Optional[Tensor],
        force: bool = False,
    ) -> Tensor:
        """Weight (when ``use_target_weight`` or ``force``) and sum the terms."""
        nf_loss, q_loss = self.terms(pred, sigma, target)
        if self.use_target_weight or force:
            weight = target_weight if target_weight.dim() == 3 else target_weight[..., None]
            if self.formulation == 'official':
                # the official criterion weights the flow part by the first column only
                nf_loss = nf_loss * weight[..., :1]
                q_loss = None if q_loss is None else q_loss * weight
                loss = nf_loss if q_loss is None else nf_loss + q_loss
            else:
                loss = nf_loss if q_loss is None else nf_loss + q_loss
                loss = loss * weight
        else:
            loss = nf_loss if q_loss is None else nf_loss + q_loss

        if self.size_average:
            loss = loss / len(loss)
        return loss.sum()

    def terms(self, pred: Tensor, sigma: Tensor, target: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """The unweighted per-coordinate terms of the loss (module docstring).

        Ordinary keypoints (``σ̂ ≥ sigma_min``, ``|x̄_c| ≤ max_flow_input``) are computed
        with the references' operations, the others with
        :func:`~mmpose_rle.models.losses.bounded_terms.bounded_terms`.

        Args:
            pred (Tensor): ``μ̂``, shape ``(N, K, D)``.
            sigma (Tensor): σ logits, shape ``(N, K, D)``.
            target (Tensor): ``μ_g``, shape ``(N, K, D)``.

        Returns:
            tuple: the flow part ``log σ̂_c − β log G_φ`` and the ``−log Q`` part (``None``
            for ``'reparam'``), both of shape ``(N, K, D)``. Their sum over ``c`` is the
            per-keypoint loss.
        """
        N, K, D = pred.shape
        z_gt = log_det = None
        if self.design == 'basic':
            z_gt, log_det = self.flow_model.inverse(target.reshape(-1, D))
            z_gt, log_det = z_gt.reshape(N, K, D), log_det.reshape(N, K, 1)
        base = target if z_gt is None else z_gt
        ordinary = self._ordinary(pred, sigma, base, target)
        if ordinary is None or bool(ordinary.all()):
            nf_loss, q_loss = self._reference_terms(pred, sigma, target, z_gt, log_det)
        else:
            keep = ordinary[..., None]
            nf_loss, q_loss = self._reference_terms(
                torch.where(keep, pred, base.detach()),
                torch.where(keep, sigma, torch.zeros_like(sigma)),
                target,
                z_gt,
                log_det,
            )
            idx = (~ordinary).nonzero(as_tuple=True)
            if z_gt is None:
                nf_b, q_b = bounded_terms(
                    self.spec,
                    pred[idx] - target[idx],
                    sigma[idx],
                    self.sigma_min,
                    self.max_flow_input,
                    flow=self.flow_model,
                )
            else:  # the flow sees the label, brought into the box around the crop
                z_b, log_det_b = self.flow_model.inverse(self._label_in_box(target[idx]))
                nf_b, q_b = bounded_terms(
                    self.spec, z_b - pred[idx], sigma[idx], self.sigma_min, self.max_flow_input
                )
                nf_b = nf_b - self.spec.beta * log_det_b[:, None]
            nf_loss = nf_loss.index_put(idx, nf_b)
            q_loss = None if q_loss is None else q_loss.index_put(idx, q_b)
        if self.normalised:
            nf_loss = nf_loss + self.spec.beta * log_normaliser(
                self.flow_model, self.normaliser_nodes, self.normaliser_log_weights
            )
        return nf_loss, q_loss

    def _ordinary(
        self, pred: Tensor, sigma: Tensor, base: Tensor, target: Tensor
    ) -> Optional[Tensor]:
        """``(N, K)``: keypoints inside both bounds (and, in the basic design, with the
        label in the box :meth:`_label_in_box`); None when both bounds are off."""
        if not self.sigma_min and not self.max_flow_input:
            return None
        with torch.no_grad():
            sigma = sigma.sigmoid()
            ok = torch.ones(pred.shape[:2], dtype=torch.bool, device=pred.device)
            if self.sigma_min:
                ok &= (sigma >= self.sigma_min).all(-1)
            if self.max_flow_input:
                residual = pred - base if self.design != 'basic' else base - pred
                ok &= ((residual / (sigma + _EPS)).abs() <= self.max_flow_input).all(-1)
                if self.design == 'basic':
                    ok &= ((target - 0.5).abs() <= self.max_flow_input).all(-1)
        return ok

    def _label_in_box(self, target: Tensor) -> Tensor:
        """Labels ``(M, D)`` moved onto the box ``|μ_g,c − 0.5| ≤ B`` along their ray from
        the crop's centre when outside it (the basic design's flow input), so that the
        flow's parameters never see a label far outside the crop."""
        bound = self.max_flow_input or NO_BOUND
        return clip_to_box(target - 0.5, torch.zeros_like(target), bound)[1] + 0.5

    def _reference_terms(
        self,
        pred: Tensor,
        sigma: Tensor,
        target: Tensor,
        z_gt: Optional[Tensor],
        log_det: Optional[Tensor],
    ) -> Tuple[Tensor, Optional[Tensor]]:
        """The references' operations (MMPose's ``RLELoss.forward`` for ``'mmpose'``)."""
        N, K, D = pred.shape
        sigma = sigma.sigmoid()
        error = None
        if z_gt is not None:
            log_flow = log_det  # log|det ∂f⁻¹/∂μ_g|
            residual = z_gt - pred
        else:
            residual = pred - target
            eps = 0.0 if self.formulation == 'official' else _EPS
            error = residual / (sigma + eps)
            log_flow = self.flow_model.log_prob(error.reshape(-1, D)).reshape(N, K, 1)

        if self.formulation == 'exact':
            log_flow = log_flow / D  # counted once after the sum over coordinates
        nf_loss = torch.log(sigma) - log_flow
        if self.design == 'reparam':
            return nf_loss, None
        return nf_loss, self._neg_log_q(
            residual, sigma, None if self.formulation == 'official' else error
        )

    @property
    def basic_q_scale(self) -> float:
        """Scale of ``Q`` per unit ``σ̂`` that the ``'basic'`` design's loss fits.

        ``σ̂`` enters the loss per coordinate as ``a log σ̂ + κ ρ(r/σ̂)`` (``a = a_nf + a_q``,
        :mod:`~mmpose_rle.models.losses.term_spec`), whose minimiser over ``σ̂`` is
        ``σ̂ = κ E|r| / a`` (Laplace) or ``σ̂² = κ E r² / a`` (Gaussian), while the maximum-
        likelihood scale of ``Q`` is ``E|r|`` or ``sqrt(E r²)``. So the residual in the
        flow's input space has scale ``(a/κ) σ̂`` (Laplace) or ``sqrt(a/κ) σ̂`` (Gaussian):
        1 in ``'exact'``, 2 and ``√2`` in ``'mmpose'`` (which counts ``log σ̂`` twice),
        ``2√2`` for the official Laplace.
        """
        ratio = (self.spec.a_nf + self.spec.a_q) / self.spec.kappa
        return ratio if self.q_distribution == 'laplace' else math.sqrt(ratio)

    @property
    def residual_density(self) -> str:
        """The density the flow's parameters are fitted to: ``'product'`` (``Q·G_φ/Z_φ``,
        the ``'exact'`` residual design) or ``'flow'`` (``G_φ``; every other design and
        formulation, whose only φ-dependent term is ``−log G_φ(x̄)``; ``'reparam'`` with
        ``'mmpose'`` or ``'official'`` reads a power of it, :meth:`residual_rms`)."""
        return 'product' if self.normalised else 'flow'

    def train(self, mode: bool = True) -> 'RLELoss':
        """Switch the mode; a change of mode drops the cached :meth:`residual_rms`."""
        if mode != self.training:
            self.clear_cache()
        return super().train(mode)

    def clear_cache(self) -> None:
        """Drop the cached :meth:`residual_rms` (done on ``train()`` and on loading a state
        dict; call it after changing the flow's weights by hand)."""
        self.predictive_model.clear_cache()

    def residual_rms(self) -> Tensor:
        """Root mean square ``s_c`` of the normalised residual ``x̄`` under the fitted model.

        σ̂ is only a relative scale: the flow can widen or narrow the residual density,
        so the predicted error of coordinate ``c`` has RMS ``σ̂_c · s_c`` with
        ``s_c² = E_p[x̄_c²]`` and ``p`` the density the flow was fitted to
        (:attr:`residual_density`): ``G_φ`` in the ``'mmpose'`` and ``'official'``
        formulations and in ``'reparam'``, ``Q·G_φ/Z_φ`` in the ``'exact'`` residual
        design (:func:`~mmpose_rle.models.losses.predictive.density_samples`, 16384
        quasi-random points per proposal). In ``'reparam'`` with ``'mmpose'`` or
        ``'official'``, which count ``log G_φ`` ``D`` times and ``log σ̂_c`` once, ``p`` is
        ``G_φ^κ/Z_κ`` with ``κ_c ∈ [1, D]`` from the virial measured in training
        (:mod:`~mmpose_rle.models.losses.predictive` derives it; ``D`` before any step).
        For ``'basic'`` the flow acts on coordinates and ``s = 1`` (see
        :meth:`predictive`). With ``rms_source='moment'``, the measured
        moment once it has data (in the basic design, a factor on ``Q``'s scale). Cached
        while the module stays in eval mode
        (:meth:`RLEPredictive.residual_rms <mmpose_rle.models.losses.RLEPredictive>`).

        Returns:
            Tensor: ``s`` of shape ``(D,)`` on the flow's device.
        """
        return self.predictive_model.residual_rms()

    def predictive_coverage(self, k: float) -> Tensor:
        """``P(|x̄_c| ≤ k s_c)``: the share of errors within ``±k`` predicted RMS that the
        fitted model implies, per coordinate ``(D,)`` (not for ``'basic'``, whose shape
        depends on ``μ̂``). A Laplace gives ``1 − e^{−√2 k}``; a heavier-tailed flow more."""
        if self.design == 'basic':
            raise ValueError('RLELoss.predictive_coverage: the basic design has no fixed shape')
        return self.predictive_model.coverage(k)

    def predictive(self, mu: Tensor, sigma: Tensor) -> Tuple[Tensor, Tensor]:
        """The point prediction and the predictive RMS error per coordinate.

        * ``'residual'``, ``'reparam'``: ``μ̂`` and ``σ̂ · s`` (:meth:`residual_rms`).
        * ``'basic'``: ``f_φ(μ̂)`` and the RMS of ``f_φ(z) − f_φ(μ̂)`` for
          ``z = μ̂ + b s σ̂ ⊙ u`` over 1024 fixed quasi-random nodes ``u`` of the unit ``Q``
          (:func:`~mmpose_rle.models.losses.predictive.pushforward_rms`), ``b`` the scale
          the loss fits (:attr:`basic_q_scale`), ``s`` from :meth:`residual_rms` (1 unless
          measured).

        Args:
            mu (Tensor): ``μ̂``, shape ``(..., D)``, normalised coordinates.
            sigma (Tensor): ``σ̂`` (after the sigmoid), same shape.

        Returns:
            tuple[Tensor, Tensor]: coordinates and RMS, both of the input's shape, in the
            units of ``μ̂``.
        """
        return self.predictive_model.predictive(mu, sigma)

    def _check_inputs(
        self, pred: Tensor, sigma: Tensor, target: Tensor, target_weight: Optional[Tensor]
    ) -> None:
        """Raise a clear error for inconsistent shapes."""
        if pred.dim() != 3:
            raise ValueError(f'RLELoss: pred must have shape (N, K, D), got {tuple(pred.shape)}')
        if sigma.shape != pred.shape or target.shape != pred.shape:
            raise ValueError(
                'RLELoss: pred, sigma and target must have the same shape (N, K, D), got '
                f'{tuple(pred.shape)}, {tuple(sigma.shape)} and {tuple(target.shape)}'
            )
        if pred.shape[-1] != self.flow_model.dim:
            raise ValueError(
                f'RLELoss: the flow models {self.flow_model.dim}-D '
                f'residuals but the keypoints are {pred.shape[-1]}-D'
            )
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('RLELoss: use_target_weight=True needs target_weight')
            N, K, D = pred.shape
            if tuple(target_weight.shape) not in ((N, K), (N, K, 1), (N, K, D)):
                raise ValueError(
                    f'RLELoss: target_weight must have shape ({N}, {K}), ({N}, {K}, 1) '
                    f'or ({N}, {K}, {D}), got {tuple(target_weight.shape)}'
                )
