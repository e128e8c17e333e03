"""What every RLE head answers about its predictive distribution, from the model it owns."""

from typing import Optional, Tuple

from torch import Tensor

from ..losses.rle_predictive import RLEPredictive

__all__ = ['RLEPredictiveMixin']


class RLEPredictiveMixin:
    """:attr:`q_distribution`, :meth:`residual_rms` and :meth:`predictive` of a head that
    owns ``predictive_model`` (an :class:`~mmpose_rle.models.losses.RLEPredictive`, built by
    ``RLEPredictive.of(loss)``), so that calibration, export and benchmarks ask the head and
    not its loss."""

    predictive_model: RLEPredictive

    @property
    def q_distribution(self) -> str:
        """The error model ``Q`` of the loss's setting, ``'laplace'`` or ``'gaussian'``
        (``'laplace'`` for a loss that names none)."""
        return self.predictive_model.q_distribution

    def residual_rms(self) -> Optional[Tensor]:
        """``s`` ``(D,)``: RMS of the normalised residual under the fitted model, so that
        the predictive RMS is ``σ̂ · s`` outside the basic design (1 there); None for a
        loss without a flow (:meth:`RLEPredictive.residual_rms`)."""
        return self.predictive_model.residual_rms()

    def predictive(self, mu: Tensor, sigma: Tensor) -> Tuple[Tensor, Tensor]:
        """The point prediction and the predictive RMS error of ``μ̂`` and ``σ̂`` (both
        ``(..., D)``, normalised units) in the loss's design
        (:meth:`RLEPredictive.predictive`); ``(μ̂, σ̂)`` for a loss without a flow."""
        return self.predictive_model.predictive(mu, sigma)
