"""Input checks of the RLE family: non-finite labels are masked, non-finite outputs raise.

:func:`mask_non_finite_labels` is the one place where labels are cleaned. A head applies it
to a batch where the images' names are known
(:meth:`~mmpose_rle.models.heads.BaseRLEHead.labels_and_weights`, whose clean labels also
feed its logs), so what reaches the loss is finite and the loss's own call, there for
direct use of :class:`~mmpose_rle.models.losses.RLELoss`, finds nothing to mask.
"""

import warnings
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

__all__ = ['mask_non_finite_labels', 'check_finite_outputs']


def mask_non_finite_labels(
    target: Tensor,
    weight: Optional[Tensor],
    names: Union[Sequence[str], Callable[[], Sequence[str]], None] = None,
    owner: str = 'RLELoss',
) -> Tuple[Tensor, Optional[Tensor], Tensor]:
    """Mask keypoints whose target or weight is NaN or inf, with a warning naming them.

    A masked keypoint gets weight 0 and target 0 (so that no NaN reaches the arithmetic:
    ``0 · NaN`` is NaN), hence contributes 0 to the loss and to every gradient.

    Args:
        target (Tensor): ``(N, K, D)`` targets.
        weight (Tensor, optional): ``(N, K)``, ``(N, K, 1)`` or ``(N, K, D)`` weights.
        names (Sequence[str] | Callable, optional): A name per sample (e.g. image
            paths) for the warning, or a callable returning them, called only when
            something is masked (collecting names costs time on every step); the batch
            index otherwise.
        owner (str): Who warns.

    Returns:
        tuple: the cleaned target, the cleaned weight (``None`` stays ``None``) and the
        ``(N, K)`` boolean mask of the masked keypoints.
    """
    bad = ~torch.isfinite(target).all(-1)
    if weight is not None:
        bad_weight = ~torch.isfinite(weight)
        bad = bad | (bad_weight if weight.dim() == 2 else bad_weight.any(-1))
    if not bad.any():
        return target, weight, bad
    where = [(int(n), int(k)) for n, k in bad.nonzero().tolist()]
    if callable(names):
        names = names()
    shown = ', '.join(
        f'({names[n] if names is not None else f"sample {n}"}, keypoint {k})' for n, k in where[:10]
    )
    more = f' and {len(where) - 10} more' if len(where) > 10 else ''
    warnings.warn(
        f'{owner}: masked {len(where)} keypoint(s) whose target or weight is NaN or '
        f'inf: {shown}{more}. They contribute nothing to this step.',
        stacklevel=3,
    )
    target = torch.where(bad[..., None], torch.zeros_like(target), target)
    if weight is not None:
        mask = bad if weight.dim() == 2 else bad[..., None]
        weight = torch.where(mask, torch.zeros_like(weight), weight)
    return target, weight, bad


def check_finite_outputs(pred: Tensor, sigma: Tensor, owner: str = 'RLELoss') -> None:
    """Raise ``FloatingPointError`` when the network's outputs are not finite.

    Such outputs mean the model has already diverged; stopping here keeps NaN out of the
    weights (the optimiser step would spread it) and out of the next checkpoint.
    """
    for name, value in (('coordinates', pred), ('sigma logits', sigma)):
        if not torch.isfinite(value).all():
            n = int((~torch.isfinite(value)).sum())
            raise FloatingPointError(
                f'{owner}: the network predicted {n} non-finite {name}; training has '
                'diverged (lower the learning rate, or keep the loss bounds sigma_min '
                'and max_flow_input on)'
            )
