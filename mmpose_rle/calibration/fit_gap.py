r"""How well raw σ fits the errors of the images a top-down model was trained on, and of others.

Raw σ (the RMS of ``Q·G_φ`` times ``σ̂``, or the measured moment) is fitted by the RLE loss
to the residuals the loss saw: the training images under the training augmentation, over
the last iterations of training. On validation images it can be off for three reasons,
which this module tells apart by one statistic on three sets of images::

    r = √ mean(z²),    z = (μ̂ − x) / σ     (every visible coordinate, normalised units)

``r`` is 1 when σ is the RMS of the errors (whatever their shape), below 1 when σ is too
wide, above 1 when it is too narrow:

* **training images, augmented as in training** — σ against the errors it was fitted to.
  ``r < 1`` here means σ lags the errors: they kept shrinking in the last iterations
  (a short schedule, few images) and σ̂ or the flow did not follow;
* **training images, plain** (the training pipeline without its random transforms) — the
  same images without augmentation: the gap to the first row is the augmentation's share;
* **validation images, plain** (their ground-truth boxes) — what the user meets: the
  gap to the second row is the generalisation gap, which no σ fitted on training images
  can know (calibrate on held-out images for it, ``tools/calibrate_sigma.py``).

One view (no flip test) and raw σ (no calibration map). The model is in eval mode; the
augmented row draws the random transforms anew in each of ``passes`` passes, from ``seed``.
"""

import copy
from typing import Dict, Sequence

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.runner import Runner, set_random_seed
from torch import nn

__all__ = ['RANDOM_TRANSFORMS', 'plain_pipeline', 'standardised_errors', 'fit_gap']

#: Transforms that augment without ``Random`` in their name (MMPose's photometric ones).
RANDOM_TRANSFORMS = ('PhotometricDistortion', 'Albumentation', 'YOLOXHSVRandomAug')


def plain_pipeline(pipeline: Sequence[dict]) -> list:
    """``pipeline`` without its random transforms: those whose type (scope dropped) starts
    with ``Random`` or is in :data:`RANDOM_TRANSFORMS`."""
    plain = []
    for transform in pipeline:
        name = str(transform['type']).split('.')[-1]
        if not (name.startswith('Random') or name in RANDOM_TRANSFORMS):
            plain.append(copy.deepcopy(transform))
    return plain


@torch.no_grad()
def standardised_errors(model: nn.Module, dataloader, passes: int = 1) -> np.ndarray:
    """``z = (μ̂ − x) / σ`` ``(M,)`` of every visible coordinate of ``dataloader``'s
    instances, one view, raw σ (module docstring); ``passes`` passes over the loader.

    ``model`` is a top-down RLE model (a head with ``predict_outputs``, ``labels_and_weights``
    and ``to_head_units``); the loader's pipeline must encode the labels (``GenerateTarget``).
    """
    head = model.head
    if not all(hasattr(head, m) for m in ('predict_outputs', 'labels_and_weights')):
        raise TypeError(f'fit_gap needs a top-down RLE head; got {type(head).__name__}')
    model.eval()
    out = []
    for _ in range(passes):
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            pred = head.predict_outputs(model.extract_feat(data['inputs']), calibrated=False)
            labels, weights = head.labels_and_weights(data['data_samples'])
            z = (pred.coords - head.to_head_units(labels.to(pred.coords))) / pred.rms
            out.append(z[weights > 0].reshape(-1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _innermost(dataset: ConfigDict) -> ConfigDict:
    """The dataset config that holds the pipeline (inside wrappers such as a seeded
    subset)."""
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def _loader(dataset: ConfigDict, pipeline: list, batch_size: int):
    dataset = copy.deepcopy(dataset)
    inner = _innermost(dataset)
    inner['pipeline'] = pipeline
    inner.pop('bbox_file', None)  # ground-truth boxes: the labels are theirs
    inner['test_mode'] = False
    return Runner.build_dataloader(
        dict(
            batch_size=batch_size,
            num_workers=0,
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
        )
    )


def fit_gap(
    model: nn.Module, cfg: Config, passes: int = 5, batch_size: int = 16, seed: int = 0
) -> Dict[str, Dict[str, float]]:
    """``r`` (``rms_ratio``), the share of ``|z| ≤ 1`` (``within_1sigma``, per coordinate)
    and the number of coordinates ``n`` on the three sets of the module docstring, keyed
    ``'train (augmented)'``, ``'train (plain)'`` and ``'val (plain)'``; a set without a
    visible keypoint has ``n = 0`` and NaN statistics.

    Args:
        model (nn.Module): The trained top-down RLE model.
        cfg (Config): Its config: the data sets of ``train_dataloader`` (with the
            training pipeline) and ``val_dataloader``.
        passes (int): Passes over the augmented training images. Default: 5.
        batch_size (int): Batch size. Default: 16.
        seed (int): Seed of the random transforms. Default: 0.
    """
    train_pipeline = list(_innermost(cfg.train_dataloader.dataset).pipeline)
    plain = plain_pipeline(train_pipeline)
    sets = {
        'train (augmented)': (cfg.train_dataloader.dataset, train_pipeline, passes),
        'train (plain)': (cfg.train_dataloader.dataset, plain, 1),
        'val (plain)': (cfg.val_dataloader.dataset, plain, 1),
    }
    report = {}
    set_random_seed(seed)
    for name, (dataset, pipeline, n) in sets.items():
        z = standardised_errors(model, _loader(dataset, pipeline, batch_size), n)
        report[name] = dict(
            rms_ratio=float(np.sqrt(np.mean(z**2))) if z.size else float('nan'),
            within_1sigma=float(np.mean(np.abs(z) <= 1)) if z.size else float('nan'),
            n=int(z.size),
        )
    return report
