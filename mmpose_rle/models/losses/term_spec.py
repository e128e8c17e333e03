r"""The RLE loss per coordinate, written with the coefficients of each formulation.

Every design × Q × formulation of :class:`~mmpose_rle.models.losses.RLELoss` is, per
keypoint and coordinate ``c`` (``D`` coordinates), the sum of a flow part and a ``−log Q``
part::

    nf_c = a_nf · log σ̂_c − β · log G_φ(x̄)                  (flow part)
    q_c  = a_q  · log σ̂_c + κ · ρ(x̄_c) + c₀                  (−log Q part, not in 'reparam')

with ``x̄ = (μ̂ − μ_g) / σ̂`` (``(f_φ⁻¹(μ_g) − μ̂) / σ̂`` and ``log G_φ → log |det ∂f_φ⁻¹/∂μ_g|``
in the ``'basic'`` design) and ``ρ(t) = |t|`` (Laplace) or ``t² / 2`` (Gaussian):

=================  =====  =======  =====  ========  ================
formulation, Q     a_nf   β        a_q    κ         c₀
=================  =====  =======  =====  ========  ================
mmpose, Laplace    1      1        1      1         log 2
mmpose, Gaussian   1      1        1      1         log √(2π)
official, Laplace  1      1        1      1/√2      log √(2π)
official, Gauss.   1      1        1      1         log √(2π)
exact, Laplace     1      1/D      0      1         log 2
exact, Gaussian    1      1/D      0      1         log √(2π)
=================  =====  =======  =====  ========  ================

(β = 1 per coordinate is the references' broadcast of ``log G_φ`` over the coordinates:
summed over ``c`` it is counted ``D`` times.) The loss computes ordinary inputs with the
references' own operations (bit-identical to MMPose); this table drives the bounded
continuation beyond ``sigma_min`` and ``max_flow_input``
(:mod:`~mmpose_rle.models.losses.bounded_terms`) and the documented gradient bounds.
"""

import math
from dataclasses import dataclass

__all__ = ['TermSpec', 'term_spec']

_LOG_2 = math.log(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class TermSpec:
    """Coefficients of the per-coordinate loss (module docstring).

    Attributes:
        a_nf (float): Weight of ``log σ̂_c`` in the flow part.
        beta (float): Weight of ``−log G_φ`` in each coordinate's flow part.
        has_q (bool): Whether the ``−log Q`` part exists (not for ``'reparam'``).
        a_q (float): Weight of ``log σ̂_c`` in the ``−log Q`` part.
        kappa (float): Weight of ``ρ(x̄_c)``.
        rho (str): ``'abs'`` (Laplace) or ``'square'`` (Gaussian, ``t²/2``).
        const (float): ``c₀``.
    """

    a_nf: float
    beta: float
    has_q: bool
    a_q: float
    kappa: float
    rho: str
    const: float

    def rho_slope_max(self, bound: float) -> float:
        """``max |ρ'(t)|`` over ``|t| ≤ bound``: 1 (Laplace) or ``bound`` (Gaussian)."""
        return 1.0 if self.rho == 'abs' else bound


def term_spec(design: str, q_distribution: str, formulation: str, dim: int) -> TermSpec:
    """The coefficients of a setting (module docstring's table).

    Example:
        >>> term_spec('residual', 'laplace', 'exact', 2).beta
        0.5
    """
    laplace = q_distribution == 'laplace'
    rho = 'abs' if laplace else 'square'
    if formulation == 'exact':
        return TermSpec(
            a_nf=1.0,
            beta=1.0 / dim,
            has_q=design != 'reparam',
            a_q=0.0,
            kappa=1.0,
            rho=rho,
            const=_LOG_2 if laplace else _LOG_SQRT_2PI,
        )
    official = formulation == 'official' and laplace
    return TermSpec(
        a_nf=1.0,
        beta=1.0,
        has_q=design != 'reparam',
        a_q=1.0,
        kappa=1 / math.sqrt(2) if official else 1.0,
        rho=rho,
        const=_LOG_2 if laplace and not official else _LOG_SQRT_2PI,
    )
