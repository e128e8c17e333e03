"""``sigma_init``: the initial ``σ̂`` of a head, set through its σ-logit biases.

A head whose ``σ̂ = sigmoid(w·x + b)`` starts at ``sigma_init = p`` for ``w·x = 0`` when its
biases are ``b = logit(p) = log(p / (1 − p))``; ``p`` must lie in ``(0, 1)``.

Example:
    >>> round(sigma_init_bias(checked_sigma_init('MyHead', 0.5)), 6)
    0.0
"""

import math
from typing import Optional

__all__ = ['checked_sigma_init', 'sigma_init_bias']


def checked_sigma_init(owner: str, sigma_init: Optional[float]) -> Optional[float]:
    """``sigma_init`` unchanged, after checking that it lies in ``(0, 1)`` (None passes).

    Args:
        owner (str): The class named in the error.
        sigma_init (float, optional): The initial ``σ̂``.

    Raises:
        ValueError: For a value outside ``(0, 1)``.
    """
    if sigma_init is not None and not 0 < sigma_init < 1:
        raise ValueError(f'{owner}: sigma_init must lie in (0, 1), got {sigma_init!r}')
    return sigma_init


def sigma_init_bias(sigma_init: float) -> float:
    """The σ-logit bias ``logit(p)`` that makes ``sigmoid`` start at ``p = sigma_init``."""
    return math.log(sigma_init / (1 - sigma_init))
