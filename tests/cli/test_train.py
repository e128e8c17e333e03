"""mmpose_rle.cli.train: a resumed run continues exactly like an uninterrupted one, with
stochastic layers and validation between checkpoints."""

import json

import pytest
import torch

from tests.helpers import ROOT, TINY_OPTIONS, run_tool

# the quick-start model with dropout in the neck
DROPOUT_CONFIG = ROOT / 'tests/configs/rle_dropout_synthetic-64x64.py'


def train(work_dir, env, epochs, *flags):
    """Validation after every epoch: between the checkpoints of the runs compared."""
    run_tool(
        [
            'tools/train.py',
            str(DROPOUT_CONFIG),
            '--work-dir',
            str(work_dir),
            *flags,
            '--cfg-options',
            *TINY_OPTIONS,
            'train_cfg.val_interval=1',
            f'train_cfg.max_epochs={epochs}',
        ],
        env=env,
    )


def losses(work_dir):
    """(epoch, iter) -> loss from every run's scalars.json in the work dir."""
    out = {}
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if 'loss' in rec:
                out[(rec['epoch'], rec['iter'])] = rec['loss']
    return out


def validated_epochs(work_dir):
    """Epochs after which a run evaluated (the `PCK` records of scalars.json)."""
    steps = []
    for path in sorted(work_dir.glob('*/vis_data/scalars.json')):
        steps += [
            json.loads(line)['step']
            for line in path.read_text().splitlines()
            if 'PCK' in json.loads(line)
        ]
    return steps


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
    # PYTHONPATH: the config imports tests.stochastic_modules
    return {'MMPOSE_RLE_DATA_ROOT': str(tiny_figures), 'PYTHONPATH': str(ROOT)}


def test_resume_is_exact_with_dropout_and_validation(tmp_path, env):
    full, part = run_pair(tmp_path, env)
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    la, lb = losses(full), losses(part)
    assert len(la) == 6 and la == lb
    assert validated_epochs(full) == [1, 2] and validated_epochs(part) == [1, 2]
    ckpt = torch.load(part / 'epoch_2.pth', map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2  # loads with weights_only=True (torch >= 2.6)


def test_plain_mmengine_seeding_is_not_exact(tmp_path, env):
    """The control: without our seeding the resumed run drifts (so the test above can fail)."""
    full, part = run_pair(tmp_path, env, '--no-exact-resume')
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    assert any(not torch.equal(a[k], b[k]) for k in a)
