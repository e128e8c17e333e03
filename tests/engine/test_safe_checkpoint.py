"""MMEngine checkpoints load with torch.load(weights_only=True); other pickles do not."""

import io
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import mmpose_rle  # noqa: F401  (allow-lists on import)


def _roundtrip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=True)


def test_mmengine_checkpoint_content_loads():
    hub = MessageHub.get_instance('test_safe_checkpoint')
    hub.update_scalar('train/loss', 1.5)
    ckpt = dict(
        meta=dict(dataset_meta=dict(sigmas=np.array([0.1, 0.2], np.float32), flip_indices=[1, 0])),
        message_hub=hub.state_dict(),
        state_dict=dict(w=torch.ones(2)),
    )
    out = _roundtrip(ckpt)
    np.testing.assert_array_equal(
        out['meta']['dataset_meta']['sigmas'], np.array([0.1, 0.2], np.float32)
    )
    buffer = out['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.current() == 1.5


class _Payload:
    def __reduce__(self):
        return getattr, (torch.nn.Module, '__init__')


@pytest.mark.parametrize('payload', [_Payload(), print])
def test_arbitrary_pickles_stay_refused(payload):
    with pytest.raises(pickle.UnpicklingError):
        _roundtrip({'x': payload})


def test_an_empty_numpy_array_in_the_metainfo_loads():
    """Human3.6M's metainfo has ``sigmas=[]``; an empty array pickles its data as bytes."""
    out = _roundtrip(dict(meta=dict(dataset_meta=dict(sigmas=np.array([], np.float32)))))
    assert out['meta']['dataset_meta']['sigmas'].shape == (0,)
