"""Save the random state in checkpoints and restore it on resume, for exact resumes."""
import random
from typing import Optional

import numpy as np
import torch
from mmengine.hooks import Hook

from mmpose_rle.registry import HOOKS
from .seeded_data import SeededDataset

__all__ = ['RandomStateHook']


def _capture() -> dict:
    """The main process's generator states, as tensors and plain Python values only
    (so that ``torch.load(weights_only=True)`` reads them)."""
    np_state = np.random.get_state()
    state = dict(
        python=random.getstate(),
        numpy=dict(kind=np_state[0], key=torch.from_numpy(np_state[1].astype(np.int64)),
                   pos=int(np_state[2]), has_gauss=int(np_state[3]),
                   gauss=float(np_state[4])),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def _restore(state: dict) -> None:
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    n = state['numpy']
    np.random.set_state((n['kind'], n['key'].numpy().astype(np.uint32), n['pos'],
                         n['has_gauss'], n['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Make a resumed run continue exactly like the uninterrupted one.

    * ``before_save_checkpoint``: stores the Python, NumPy, torch (and CUDA) generator
      states of the main process under ``checkpoint['random_state']``.
    * ``after_load_checkpoint`` + ``before_train``: restores them once resuming is over
      (the runner re-seeds in between).
    * ``before_train``: sets the seed of a :class:`SeededDataset` training set to the
      runner's seed (which the runner takes from the checkpoint on resume).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['random_state'] = _capture()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = checkpoint.get('random_state')

    def before_train(self, runner) -> None:
        dataset = runner.train_dataloader.dataset
        if isinstance(dataset, SeededDataset):
            dataset.seed = runner.seed
        if self._pending is not None:
            _restore(self._pending)
            self._pending = None
