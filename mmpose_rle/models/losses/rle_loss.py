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

      L = Σ_c [log σ̂_c + q(x̄_c)] − log G_φ(x̄),   q = log 2 + |·| or ½ log 2π + (·)²/2

  (``q`` absent for ``'reparam'``). In the ``'basic'`` design ``q`` is evaluated at
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
from .sanitize import check_finite_outputs, mask_non_finite_labels

__all__ = ['RLELoss', 'DESIGNS', 'FORMULATIONS', 'Q_DISTRIBUTIONS']

DESIGNS = ('residual', 'reparam', 'basic')
FORMULATIONS = ('mmpose', 'official', 'exact')
Q_DISTRIBUTIONS = ('laplace', 'gaussian')

_LOG_2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_EPS = 1e-9  # the references' epsilon in the normalisation


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
        sigma_min (float, optional): Floor of ``σ̂`` (a fraction of the input size).
            Default: 1e-3.
        max_flow_input (float, optional): The flow sees ``x̄`` clipped to
            ``±max_flow_input``; it is never trained that far out. Default: 20.

    Robustness (ours; ``None`` disables each bound and gives the references' unbounded
    maths): with the two bounds the gradients stay bounded whatever the error — the
    Laplace term's is at most ``1/sigma_min`` per coordinate, the flow term is evaluated
    on ``x̄`` clipped to ``±max_flow_input`` and stops growing there (the ``Q`` term
    keeps pulling ``μ̂`` towards the label), and σ̂ cannot collapse (MMPose's loss gives
    4e20 at a σ logit of −30).
    Ordinary inputs (σ̂ ≥ 1e-3, ``|x̄| ≤ 20``) are untouched, so the loss stays
    bit-identical to MMPose's there. A Gaussian ``Q`` still grows quadratically with
    the error: prefer the Laplace for noisy labels.
    Targets or weights that are NaN or inf are masked with a warning naming them
    (:func:`~mmpose_rle.models.losses.sanitize.mask_non_finite_labels`); non-finite
    network outputs raise ``FloatingPointError``. The loss is computed in float32 (or
    float64) with autocast off, so mixed-precision training keeps the flow accurate.
    """

    def __init__(self,
                 use_target_weight: bool = False,
                 size_average: bool = True,
                 residual: Optional[bool] = None,
                 q_distribution: str = 'laplace',
                 design: Optional[str] = None,
                 formulation: str = 'mmpose',
                 flow: dict = dict(type='mmpose_rle.RealNVP'),
                 sigma_min: Optional[float] = 1e-3,
                 max_flow_input: Optional[float] = 20.0) -> None:
        super().__init__()
        if design is None:
            design = 'reparam' if residual is False else 'residual'
        elif residual is not None and bool(residual) != (design != 'reparam'):
            raise ValueError(
                f'RLELoss: residual={residual} contradicts design={design!r}; '
                'give only `design`')
        _check_choice('design', design, DESIGNS)
        _check_choice('formulation', formulation, FORMULATIONS)
        _check_choice('q_distribution', q_distribution, Q_DISTRIBUTIONS)
        self.use_target_weight = use_target_weight
        self.size_average = size_average
        self.design = design
        self.residual = design == 'residual'
        self.formulation = formulation
        self.q_distribution = q_distribution
        self.flow_model = MODELS.build(flow)
        self.sigma_min = sigma_min
        self.max_flow_input = max_flow_input

    def extra_repr(self) -> str:
        return (f'design={self.design!r}, formulation={self.formulation!r}, '
                f'q_distribution={self.q_distribution!r}, '
                f'use_target_weight={self.use_target_weight}')

    def _neg_log_q(self, residual: Tensor, sigma: Tensor) -> Tensor:
        """``−log Q`` term per coordinate, including its normaliser (module docstring).

        Args:
            residual (Tensor): ``μ̂ − μ_g`` (or ``z_g − μ̂`` in the basic design),
                shape ``(N, K, D)``.
            sigma (Tensor): ``σ̂ ∈ (0, 1)``, shape ``(N, K, D)``.
        """
        laplace = self.q_distribution == 'laplace'
        if self.formulation == 'official' and laplace:
            return (torch.log(sigma * math.sqrt(2 * math.pi)) +
                    torch.abs(residual) / (math.sqrt(2) * sigma + _EPS))
        error = residual / (sigma + _EPS)
        if self.formulation == 'exact':
            return _LOG_2 + torch.abs(error) if laplace else _LOG_SQRT_2PI + 0.5 * error**2
        if laplace:
            return torch.log(sigma * 2) + torch.abs(error)
        return torch.log(sigma * math.sqrt(2 * math.pi)) + 0.5 * error**2

    def forward(self,
                pred: Tensor,
                sigma: Tensor,
                target: Tensor,
                target_weight: Optional[Tensor] = None) -> Tensor:
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
                target, target_weight if self.use_target_weight else None)
            force = weight is None and bool(masked.any())
            if force:  # no weights asked for, but masked keypoints need one
                weight = (~masked).to(dtype)
            return self._reduce(pred, sigma, target, weight, force)

    def _reduce(self, pred: Tensor, sigma: Tensor, target: Tensor,
                target_weight: Optional[Tensor], force: bool = False) -> Tensor:
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

    def terms(self, pred: Tensor, sigma: Tensor,
              target: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """The unweighted per-coordinate terms of the loss (module docstring).

        Args:
            pred (Tensor): ``μ̂``, shape ``(N, K, D)``.
            sigma (Tensor): σ logits, shape ``(N, K, D)``.
            target (Tensor): ``μ_g``, shape ``(N, K, D)``.

        Returns:
            tuple: the flow part ``log σ̂_c − log G_φ`` (``− log G_φ / D`` in the
            ``'exact'`` formulation) and the ``−log Q`` part (``None`` for
            ``'reparam'``), both of shape ``(N, K, D)``. Their sum over ``c`` is the
            per-keypoint loss.
        """
        N, K, D = pred.shape
        sigma = sigma.sigmoid()
        if self.sigma_min:
            sigma = sigma.clamp_min(self.sigma_min)
        flow = self.flow_model
        if self.design == 'basic':
            z_gt, log_det = flow.inverse(target.reshape(-1, D))
            log_flow = log_det.reshape(N, K, 1)  # log|det ∂f⁻¹/∂μ_g|
            residual = z_gt.reshape(N, K, D) - pred
        else:
            residual = pred - target
            eps = 0.0 if self.formulation == 'official' else _EPS
            error = self._clip(residual / (sigma + eps), self.max_flow_input)
            log_flow = flow.log_prob(error.reshape(-1, D)).reshape(N, K, 1)

        if self.formulation == 'exact':
            log_flow = log_flow / D  # counted once after the sum over coordinates
        nf_loss = torch.log(sigma) - log_flow
        q_loss = None if self.design == 'reparam' else self._neg_log_q(residual, sigma)
        return nf_loss, q_loss

    @staticmethod
    def _clip(x: Tensor, bound: Optional[float]) -> Tensor:
        return x.clamp(-bound, bound) if bound else x

    @torch.no_grad()
    def residual_rms(self, num_samples: int = 16384) -> Tensor:
        """Root mean square ``s_c`` of the normalised residual ``x̄`` under the model.

        σ̂ is only a relative scale: the flow can widen or narrow the residual density,
        so the predicted error of coordinate ``c`` has RMS ``σ̂_c · s_c``. With samples
        ``x ~ G_φ`` (the flow's density), self-normalised importance sampling gives::

            s_c² = Σ w(x) x_c² / Σ w(x),   w = Q(x) ('residual'),  w = 1 ('reparam')

        where ``Q`` is the unit Laplace (scale ``√2`` in the ``'official'`` formulation) or
        Gaussian. For ``'basic'`` the flow acts on coordinates and ``s = 1``. The draw
        is seeded, and the result is cached until the flow's weights change.

        Returns:
            Tensor: ``s`` of shape ``(D,)`` on the flow's device.
        """
        flow = self.flow_model
        params = list(flow.parameters())
        key = (self.design, num_samples, params[0].device,
               tuple((p.data_ptr(), p._version) for p in params))
        cached = getattr(self, '_rms_cache', None)
        if cached is not None and cached[0] == key:
            return cached[1]
        if self.design == 'basic':
            rms = params[0].new_ones(flow.dim)
        else:
            gen = torch.Generator().manual_seed(0)
            z = torch.randn(num_samples, flow.dim, generator=gen)
            x = flow(z.to(params[0]))[0]
            if self.design == 'reparam':
                log_w = x.new_zeros(num_samples)
            elif self.q_distribution == 'laplace':
                b = math.sqrt(2) if self.formulation == 'official' else 1.0
                log_w = -x.abs().sum(1) / b
            else:
                log_w = -0.5 * (x**2).sum(1)
            w = torch.softmax(log_w, dim=0)
            rms = (w[:, None] * x**2).sum(0).sqrt()
        self._rms_cache = (key, rms)
        return rms

    def _check_inputs(self, pred: Tensor, sigma: Tensor, target: Tensor,
                      target_weight: Optional[Tensor]) -> None:
        """Raise a clear error for inconsistent shapes."""
        if pred.dim() != 3:
            raise ValueError(f'RLELoss: pred must have shape (N, K, D), got '
                             f'{tuple(pred.shape)}')
        if sigma.shape != pred.shape or target.shape != pred.shape:
            raise ValueError(
                'RLELoss: pred, sigma and target must have the same shape (N, K, D), got '
                f'{tuple(pred.shape)}, {tuple(sigma.shape)} and {tuple(target.shape)}')
        if pred.shape[-1] != self.flow_model.dim:
            raise ValueError(f'RLELoss: the flow models {self.flow_model.dim}-D '
                             f'residuals but the keypoints are {pred.shape[-1]}-D')
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError('RLELoss: use_target_weight=True needs target_weight')
            N, K, D = pred.shape
            if tuple(target_weight.shape) not in ((N, K), (N, K, 1), (N, K, D)):
                raise ValueError(
                    f'RLELoss: target_weight must have shape ({N}, {K}), ({N}, {K}, 1) '
                    f'or ({N}, {K}, {D}), got {tuple(target_weight.shape)}')
