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
summed over ``c`` it is counted ``D`` times.) The references write the ``−log Q`` part of
``'mmpose'`` and ``'official'`` as ``log(n σ̂_c) + ρ(r_c / (s σ̂_c))`` with the normaliser
``n = e^{c₀}`` (:data:`LAPLACE_NORM` 2, :data:`GAUSSIAN_NORM` ``√(2π)``) and the scale
``s = 1/κ`` (:data:`OFFICIAL_LAPLACE_SCALE` ``√2`` for the official Laplace, else 1): the
fields ``norm`` and ``scale``. The loss computes ordinary inputs with the references' own
operations on these constants (bit-identical to MMPose); the coefficients drive the bounded
continuation beyond ``sigma_min`` and ``max_flow_input``
(:mod:`~mmpose_rle.models.losses.bounded_terms`) and the documented gradient bounds.
"""

import math
from dataclasses import dataclass

__all__ = [
    'TermSpec',
    'term_spec',
    'LAPLACE_NORM',
    'GAUSSIAN_NORM',
    'LOG_LAPLACE_NORM',
    'LOG_GAUSSIAN_NORM',
    'OFFICIAL_LAPLACE_SCALE',
]

#: ``n`` of the unit Laplace, ``Q(x) = e^{−|x|} / 2``.
LAPLACE_NORM = 2
#: ``n`` of the unit Gaussian, ``Q(x) = e^{−x²/2} / √(2π)``.
GAUSSIAN_NORM = math.sqrt(2 * math.pi)
#: ``c₀ = log 2`` of the Laplace.
LOG_LAPLACE_NORM = math.log(2.0)
#: ``c₀ = log √(2π)`` of the Gaussian.
LOG_GAUSSIAN_NORM = 0.5 * math.log(2 * math.pi)
#: Scale of the official code's Laplace per unit ``σ̂``: ``|r| / (√2 σ̂ + ε)``.
OFFICIAL_LAPLACE_SCALE = math.sqrt(2)


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
        norm (float): ``n``, the references' normaliser of ``Q`` per unit ``σ̂``.
            Default: :data:`GAUSSIAN_NORM`.
        scale (float): ``s``, the references' scale of ``Q`` per unit ``σ̂``. Default: 1.
    """

    a_nf: float
    beta: float
    has_q: bool
    a_q: float
    kappa: float
    rho: str
    const: float
    norm: float = GAUSSIAN_NORM
    scale: float = 1.0

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
            const=LOG_LAPLACE_NORM if laplace else LOG_GAUSSIAN_NORM,
            norm=LAPLACE_NORM if laplace else GAUSSIAN_NORM,
        )
    official = formulation == 'official' and laplace
    scale = OFFICIAL_LAPLACE_SCALE if official else 1.0
    return TermSpec(
        a_nf=1.0,
        beta=1.0,
        has_q=design != 'reparam',
        a_q=1.0,
        kappa=1 / scale if official else 1.0,
        rho=rho,
        const=LOG_LAPLACE_NORM if laplace and not official else LOG_GAUSSIAN_NORM,
        norm=LAPLACE_NORM if laplace and not official else GAUSSIAN_NORM,
        scale=scale,
    )
