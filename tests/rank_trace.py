"""A hook that records, on every rank, what each training step drew and saw.

For the checks that two ranks really train apart under DDP
(``tests/cli/test_train_distributed.py``). Importing this module registers
``mmpose_rle.RankTraceHook`` (only the tests import it).

Per rank and step it appends one JSON line to ``<work_dir>/rank_trace_<rank>.jsonl``:

* ``iter``, ``rank``, ``world_size``, ``seed`` (the runner's), ``wrapped`` (the model is a
  DDP wrapper);
* ``torch``, ``numpy``, ``random``: digests of the global generators' states at the start
  of the step, after :class:`~mmpose_rle.engine.StepSeedHook` has seeded it (the stream
  that dropout and the step's other draws come from);
* ``batch``: a digest of the step's input images (which samples, how augmented);
* ``params``: a digest of the model's parameters after the step (DDP keeps them equal on
  every rank; BatchNorm buffers are not broadcast and are left out).

Reading states and tensors draws nothing, so a traced run trains exactly as an untraced one.
"""

import hashlib
import json
import os.path as osp
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmpose_rle.registry import HOOKS

__all__ = ['RankTraceHook']


def _digest(*chunks: bytes) -> str:
    sha = hashlib.sha1()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()


def _generator_digests() -> Dict[str, str]:
    """Digests of the states of torch's, NumPy's and Python's global generators."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    return dict(
        torch=_digest(torch.get_rng_state().numpy().tobytes()),
        numpy=_digest(keys.tobytes(), repr((pos, has_gauss, gauss)).encode()),
        random=_digest(repr(random.getstate()).encode()),
    )


@HOOKS.register_module(force=True)
class RankTraceHook(Hook):
    """Record each rank's random streams, data and parameters per step (module docstring)."""

    priority = 'LOWEST'  # after StepSeedHook (VERY_HIGH) has seeded the step

    def __init__(self) -> None:
        self._record: Dict[str, Any] = {}

    def before_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None) -> None:
        inputs = (data_batch or {}).get('inputs', [])
        self._record = dict(
            iter=runner.iter,
            rank=get_rank(),
            world_size=get_world_size(),
            seed=runner.seed,
            wrapped=is_model_wrapper(runner.model),
            batch=_digest(*(t.detach().cpu().numpy().tobytes() for t in inputs)),
            **_generator_digests(),
        )

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Optional[dict] = None, outputs=None
    ) -> None:
        params = runner.model.parameters()
        self._record['params'] = _digest(*(p.detach().cpu().numpy().tobytes() for p in params))
        path = osp.join(runner.work_dir, f'rank_trace_{self._record["rank"]}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(self._record) + '\n')
