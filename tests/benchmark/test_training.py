"""The benchmarks' one trainer: the command it runs, what it records, reuse and failure."""

import json
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from mmpose_rle.benchmark import median_iter_time
from mmpose_rle.benchmark import training as training_module
from mmpose_rle.benchmark.training import train_variant

LOG = (
    '11/26 01:00:00 - mmengine - INFO - Epoch(train)   [1][6/6]  lr: 1.0e-03  eta: 0:00:09  '
    'time: 0.5000  data_time: 0.0100  memory: 0  loss: -1.0\n'
    '11/26 01:00:07 - mmengine - INFO - Epoch(train)   [2][6/6]  lr: 1.0e-03  eta: 0:00:00  '
    'time: 0.7000  data_time: 0.0100  memory: 0  loss: -2.0\n'
    '11/26 01:00:10 - mmengine - INFO - Epoch(val) [2][2/2]    PCK: 0.250000  EPE: 3.5\n'
)


class FakeTraining:
    """Stands in for ``subprocess.run``: records the call, writes the log and checkpoint."""

    def __init__(self, returncode=0):
        self.calls, self.returncode = [], returncode

    def __call__(self, cmd, env=None, stdout=None, stderr=None):
        self.calls.append(dict(cmd=cmd, env=env))
        stdout.write(LOG)
        work_dir = cmd[cmd.index('--work-dir') + 1]
        epochs = next(o for o in cmd if o.startswith('train_cfg.max_epochs=')).split('=')[1]
        open(f'{work_dir}/epoch_{epochs}.pth', 'w').close()
        return subprocess.CompletedProcess(cmd, self.returncode)


@pytest.fixture
def fake(monkeypatch):
    fake = FakeTraining()
    monkeypatch.setattr(training_module.subprocess, 'run', fake)
    return fake


def test_a_config_file_trains_as_it_is_with_the_environment_added(fake, tmp_path, monkeypatch):
    monkeypatch.setenv('KEPT', 'yes')
    work = str(tmp_path / 'run')
    out = train_variant('some/config.py', work, seed=3, epochs=2, env={'DATA': '/d'})
    assert fake.calls[0]['cmd'] == [
        sys.executable,
        '-m',
        'mmpose_rle.cli.train',
        'some/config.py',
        '--work-dir',
        work,
        '--cfg-options',
        'randomness.seed=3',
        'train_cfg.max_epochs=2',
        'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
    ]
    env = fake.calls[0]['env']
    assert env['DATA'] == '/d' and env['KEPT'] == 'yes'
    assert out['checkpoint'] == f'{work}/epoch_2.pth'
    assert out['iter_time'] == pytest.approx(0.6)  # median of 0.5 and 0.7
    assert out['curve'] == [dict(PCK=0.25, EPE=3.5, time=10.0, epoch=2)]
    recorded = json.loads((tmp_path / 'run/train_time.json').read_text())['train_time']
    assert out['train_time'] == recorded >= 0
    assert not (tmp_path / 'run/config.py').exists()


def test_a_config_object_is_written_and_the_environment_inherited(fake, tmp_path):
    cfg = Config(dict(model=dict(type='Nothing'), train_cfg=dict(max_epochs=9)))
    train_variant(cfg, str(tmp_path), seed=0, epochs=4, val_interval=2)
    cmd = fake.calls[0]['cmd']
    assert cmd[3] == str(tmp_path / 'config.py') and fake.calls[0]['env'] is None
    assert 'train_cfg.val_interval=2' in cmd and 'train_cfg.max_epochs=4' in cmd
    assert Config.fromfile(cmd[3]).model == dict(type='Nothing')


def test_reuse_keeps_a_finished_run_and_a_failure_raises(fake, tmp_path):
    first = train_variant('c.py', str(tmp_path), seed=0, epochs=1)
    again = train_variant('c.py', str(tmp_path), seed=0, epochs=1, reuse=True)
    assert len(fake.calls) == 1 and again['train_time'] == first['train_time']
    train_variant('c.py', str(tmp_path), seed=0, epochs=1)  # without reuse: trained again
    assert len(fake.calls) == 2
    fake.returncode = 1
    with pytest.raises(RuntimeError, match=f'training failed, see {tmp_path}/train.log'):
        train_variant('c.py', str(tmp_path), seed=0, epochs=1)


def test_median_iter_time_reads_only_training_lines(tmp_path):
    log = tmp_path / 'train.log'
    line = (
        '11/26 01:00:00 - mmengine - INFO - Epoch(train)   [{e}][6/6]  lr: 1.0000e-03  '
        'eta: 0:00:{e:02d}  time: {t}  data_time: 0.0100  memory: 0  loss: -1.0'
    )
    lines = [line.format(e=e, t=t) for e, t in enumerate([0.9, 0.5, 0.7, 0.6], 1)]
    lines.insert(
        2,
        '11/26 01:00:00 - mmengine - INFO - Epoch(val) [4][2/2]    eta: 0:00:00  '
        'time: 9.0000  data_time: 0.0100',
    )
    log.write_text('\n'.join(['loading annotations', *lines]) + '\n')
    assert median_iter_time(str(log)) == pytest.approx(np.median([0.9, 0.5, 0.7, 0.6]))
    assert median_iter_time(str(tmp_path / 'missing.log')) is None
    log.write_text('no training lines\n')
    assert median_iter_time(str(log)) is None
