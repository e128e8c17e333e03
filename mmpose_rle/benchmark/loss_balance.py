r"""How much each loss term pulls on the shared layers: the balance of a multi-term loss.

A loss that is a sum ``L = Σ_t L_t`` trains the shared layers (backbone and neck) with
``∇L = Σ_t ∇L_t``; what a term contributes is the size of its gradient there, not its value.
The RLE term is a negative log-*density*: its value can be negative and moves with constants
(the formulation, the units) that change no gradient, so comparing values across terms says
nothing about balance. :func:`loss_gradient_norms` measures, per term ``t`` and averaged over
batches, the value ``L_t`` and ``‖∇_θ L_t‖₂`` over the shared parameters ``θ``, and the
cosine between ``∇L_t`` and the gradient of the other terms' sum (negative: the term pulls
against the others). :func:`module_gradient_norms` says where the gradient of the whole
loss ``L`` goes: ``‖∇_θm L‖₂`` per group of parameters ``θm`` (the backbone, the neck, each
module of the head), whose squares sum to ``‖∇L‖²`` — the norm an optimiser's gradient clip
sees.
"""

from typing import Dict, Iterable, List

import numpy as np
import torch
from torch import nn

__all__ = [
    'loss_gradient_norms',
    'shared_parameters',
    'balance_markdown',
    'module_gradient_norms',
    'module_markdown',
    'parameter_group',
]


def shared_parameters(model: nn.Module) -> List[nn.Parameter]:
    """The trainable parameters of the backbone and neck (the layers every term trains)."""
    return [
        p
        for name, p in model.named_parameters()
        if p.requires_grad and name.startswith(('backbone.', 'neck.'))
    ]


def _flat_grad(value: torch.Tensor, params: List[nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return torch.cat(
        [(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, params)]
    )


def _loss_terms(model: nn.Module, data: dict) -> Dict[str, torch.Tensor]:
    """Every loss term of one batch (MMEngine's mean of each), on the graph."""
    batch = model.data_preprocessor(data, True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    return {k: v.mean() for k, v in losses.items() if k.startswith('loss')}


def _batch_terms(model: nn.Module, data: dict, params: List[nn.Parameter]) -> Dict[str, tuple]:
    """``(value, gradient)`` of every loss term of one batch (MMEngine's mean of each)."""
    terms = _loss_terms(model, data)
    return {k: (float(v.detach()), _flat_grad(v, params)) for k, v in terms.items()}


def loss_gradient_norms(model: nn.Module, batches: Iterable[dict]) -> Dict[str, Dict[str, float]]:
    """Per loss term: ``value``, ``grad_norm`` (on :func:`shared_parameters`) and ``cosine``
    with the other terms' gradient, each the mean over ``batches`` (packed as the data
    loader gives them); the model is in training mode (BatchNorm as in training).

    Returns:
        dict: ``{term: {'value', 'grad_norm', 'cosine'}}``.
    """
    model.train()
    params = shared_parameters(model)
    rows: Dict[str, Dict[str, list]] = {}
    for data in batches:
        terms = _batch_terms(model, data, params)
        total = sum(g for _, g in terms.values())
        for name, (value, grad) in terms.items():
            others = total - grad
            cosine = torch.nn.functional.cosine_similarity(grad, others, dim=0, eps=1e-30)
            row = rows.setdefault(name, dict(value=[], grad_norm=[], cosine=[]))
            row['value'].append(value)
            row['grad_norm'].append(float(grad.norm()))
            row['cosine'].append(float(cosine))
    model.zero_grad(set_to_none=True)
    return {k: {m: float(np.mean(v)) for m, v in row.items()} for k, row in rows.items()}


def balance_markdown(results: Dict[str, Dict[str, Dict[str, float]]]) -> str:
    """A table with one row per model and term: value, gradient norm, its share of the
    model's summed norms, and the cosine with the other terms."""
    lines = [
        '| model | term | value | ‖∇ shared layers‖ | share of ‖∇‖ | cos(∇ term, ∇ others) |',
        '|---|---|---|---|---|---|',
    ]
    for model, terms in results.items():
        total = sum(t['grad_norm'] for t in terms.values()) or 1.0
        for name, t in terms.items():
            lines.append(
                f'| {model} | {name} | {t["value"]:.3f} | {t["grad_norm"]:.3g} | '
                f'{t["grad_norm"] / total:.2f} | {t["cosine"]:+.2f} |'
            )
    return '\n'.join(lines)


def parameter_group(name: str, depth: int = 3) -> str:
    """The group of a parameter name: ``backbone`` or ``neck``, else its first ``depth``
    parts without the parameter's own name (``head.head_module.out_kpt``)."""
    parts = name.split('.')
    if parts[0] in ('backbone', 'neck'):
        return parts[0]
    return '.'.join(parts[: min(depth, len(parts) - 1)] or parts)


def module_gradient_norms(
    model: nn.Module, batches: Iterable[dict], depth: int = 3
) -> Dict[str, float]:
    """``‖∇_θm L‖₂`` of the summed loss ``L`` per parameter group (:func:`parameter_group`)
    and ``total`` (``‖∇L‖₂``), each the mean over ``batches``; training mode.

    Returns:
        dict: ``{group: norm}``, groups by descending norm, then ``total``.
    """
    model.train()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    rows: Dict[str, list] = {}
    for data in batches:
        total = sum(_loss_terms(model, data).values())
        grads = torch.autograd.grad(total, [p for _, p in named], allow_unused=True)
        squares: Dict[str, float] = {}
        for (name, _), grad in zip(named, grads):
            if grad is not None:
                group = parameter_group(name, depth)
                squares[group] = squares.get(group, 0.0) + float(grad.pow(2).sum())
        for group, sq in squares.items():
            rows.setdefault(group, []).append(sq**0.5)
        rows.setdefault('total', []).append(sum(squares.values()) ** 0.5)
    means = {k: float(np.mean(v)) for k, v in rows.items()}
    total = means.pop('total')
    return dict(sorted(means.items(), key=lambda kv: -kv[1]), total=total)


def module_markdown(results: Dict[str, Dict[str, float]]) -> str:
    """A table with one row per model and parameter group: ``‖∇ L‖`` on the group."""
    lines = ['| model | parameters | ‖∇ summed loss‖ |', '|---|---|---|']
    for model, groups in results.items():
        lines += [f'| {model} | {group} | {norm:.3g} |' for group, norm in groups.items()]
    return '\n'.join(lines)
