"""tools/train.py: a resumed run continues exactly like an uninterrupted one."""
import json

import pytest
import torch

from tests.helpers import QUICKSTART_CONFIG, TINY_OPTIONS, run_tool


def train(work_dir, env, epochs, *flags):
    run_tool(['tools/train.py', str(QUICKSTART_CONFIG), '--work-dir', str(work_dir), *flags,
              '--cfg-options', *TINY_OPTIONS, f'train_cfg.max_epochs={epochs}'], env=env)


def losses(work_dir):
    """(epoch, iter) -> loss from every run's scalars.json in the work dir."""
    out = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if 'loss' in rec:
                out[(rec['epoch'], rec['iter'])] = rec['loss']
    return out


def weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def run_pair(tmp_path, env, *flags):
    full, part = tmp_path / 'full', tmp_path / 'part'
    train(full, env, 2, *flags)
    train(part, env, 1, *flags)
    assert not (part / 'epoch_2.pth').exists()
    train(part, env, 2, '--resume', *flags)
    return full, part


@pytest.fixture(scope='module')
def env(tiny_figures):
    return {'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)}


def test_resume_is_exact(tmp_path, env):
    full, part = run_pair(tmp_path, env)
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    la, lb = losses(full), losses(part)
    assert len(la) == 6 and la == lb
    # the checkpoint loads with weights_only=True (torch >= 2.6 default) and keeps the
    # random state for the next resume
    ckpt = torch.load(part / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert 'random_state' in ckpt and ckpt['meta']['epoch'] == 2


def test_plain_mmengine_seeding_is_not_exact(tmp_path, env):
    """The control: without our seeding the resumed run drifts (so the test above can fail)."""
    full, part = run_pair(tmp_path, env, '--no-exact-resume')
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    assert any(not torch.equal(a[k], b[k]) for k in a)
