"""Load MMEngine checkpoints with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, and MMEngine 0.10.7
cannot resume or ``load_checkpoint`` its own checkpoints any more: they hold NumPy
arrays (in ``meta['dataset_meta']``) and ``HistoryBuffer`` objects (in
the message hub, which pickle their statistics methods through ``getattr``), e.g.
``Weights only load failed … numpy._core.multiarray._reconstruct``; an empty NumPy array
(Human3.6M's metainfo has ``sigmas=[]``) pickles its data as ``bytes()``.
:func:`allow_mmengine_checkpoints` allow-lists exactly those classes with
``torch.serialization.add_safe_globals``, and in place of ``builtins.getattr`` a version
that only returns ``HistoryBuffer``'s public methods; arbitrary pickles stay refused.
"""

import collections
import pickle
from typing import List

import numpy as np
import torch

__all__ = ['allow_mmengine_checkpoints', 'SAFE_GLOBALS']


def _numpy_globals() -> List[object]:
    try:
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct, scalar
    dtypes = [
        type(np.dtype(t))
        for t in (
            np.bool_,
            np.int8,
            np.int16,
            np.int32,
            np.int64,
            np.uint8,
            np.uint16,
            np.uint32,
            np.uint64,
            np.float16,
            np.float32,
            np.float64,
            np.str_,
            np.object_,
        )
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype, *dtypes]


def _history_buffer_getattr(obj: object, name: str) -> object:
    """``getattr`` restricted to what ``HistoryBuffer.__getstate__`` pickles.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer,
    'min')`` and so on; this stands in for ``builtins.getattr`` while unpickling and
    refuses every other use.
    """
    from mmengine.logging import HistoryBuffer

    if (
        obj is not HistoryBuffer
        or name.startswith('_')
        or not callable(getattr(HistoryBuffer, name, None))
    ):
        raise pickle.UnpicklingError(
            f'refusing getattr({obj!r}, {name!r}) in a weights-only checkpoint'
        )
    return getattr(HistoryBuffer, name)


def _mmengine_globals() -> List[object]:
    from mmengine.logging import HistoryBuffer

    return [HistoryBuffer, collections.Counter, (_history_buffer_getattr, 'builtins.getattr')]


SAFE_GLOBALS: List[object] = [*_numpy_globals(), bytes, *_mmengine_globals()]


def allow_mmengine_checkpoints() -> None:
    """Allow-list the classes that MMEngine checkpoints contain (no-op on old torch)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add(SAFE_GLOBALS)
