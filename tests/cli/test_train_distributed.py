"""Opt-in slow tests (``-m slow``): distributed training on the CPU with every launcher
we can start here, and exact resume on two ranks."""

import os
import socket
import subprocess
import sys

import pytest
import torch

from tests.cli.test_train import DROPOUT_CONFIG, weights
from tests.helpers import QUICKSTART_CONFIG, ROOT, TINY_OPTIONS, run_tool

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(config, work, data_root, epochs, *flags):
    return run_tool(
        [
            '-m',
            'torch.distributed.run',
            '--nproc_per_node=2',
            f'--master_port={free_port()}',
            'tools/train.py',
            str(config),
            '--launcher',
            'pytorch',
            '--work-dir',
            str(work),
            *flags,
            '--cfg-options',
            *TINY_OPTIONS,
            f'train_cfg.max_epochs={epochs}',
            'randomness.diff_rank_seed=True',
            'train_cfg.val_interval=1',
        ],
        env={
            'MMPOSE_RLE_DATA_ROOT': str(data_root),
            'OMP_NUM_THREADS': '1',
            'PYTHONPATH': str(ROOT),
        },
    )


def test_torchrun_two_cpu_processes(tiny_figures, tmp_path):
    """`tools/train.py --launcher pytorch` under torchrun on a machine without a GPU."""
    proc = torchrun(QUICKSTART_CONFIG, tmp_path / 'work', tiny_figures, 1)
    assert (tmp_path / 'work' / 'epoch_1.pth').exists()
    out = proc.stdout + proc.stderr
    assert 'Distributed training: True' in out
    assert 'Epoch(train) [1][2/2]' in out  # 24 images / (2 processes x 8) = 2 iterations


def test_resume_on_two_ranks_is_exact(tiny_figures, tmp_path):
    """Dropout, a different random stream per rank, validation between checkpoints."""
    full, part = tmp_path / 'full', tmp_path / 'part'
    torchrun(DROPOUT_CONFIG, full, tiny_figures, 2)
    torchrun(DROPOUT_CONFIG, part, tiny_figures, 1)
    torchrun(DROPOUT_CONFIG, part, tiny_figures, 2, '--resume')
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_slurm_launcher_on_the_cpu(tiny_figures, tmp_path):
    """Two processes started as srun would (SLURM_* variables), without a GPU."""
    port, work = free_port(), tmp_path / 'work'
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            SLURM_PROCID=str(rank),
            SLURM_NTASKS='2',
            SLURM_LOCALID=str(rank),
            SLURM_NODELIST='localhost',
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            OMP_NUM_THREADS='1',
            MMPOSE_RLE_DATA_ROOT=str(tiny_figures),
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    'tools/train.py',
                    str(QUICKSTART_CONFIG),
                    '--launcher',
                    'slurm',
                    '--work-dir',
                    str(work),
                    '--cfg-options',
                    *TINY_OPTIONS,
                    'train_cfg.max_epochs=1',
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs[0][-3000:] + outs[1][-3000:]
    assert 'Distributed training: True' in outs[0]
    assert (work / 'epoch_1.pth').exists()
