"""Opt-in slow tests (``-m slow``): distributed training on the CPU with every launcher
we can start here, and exact resume on two ranks."""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from tests.cli.test_train import weights
from tests.helpers import QUICKSTART_CONFIG, ROOT, TINY_OPTIONS, run_tool

pytestmark = pytest.mark.slow

# the dropout config with every rank recording what each step drew and saw
TRACE_CONFIG = ROOT / 'tests/configs/rle_dropout_ranktrace_synthetic-64x64.py'
# a rank's seed and the states of its generators at the start of a step
STREAMS = ('seed', 'torch', 'numpy', 'random')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def torchrun(config, work, data_root, epochs, *flags, diff_rank_seed=True):
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
            f'randomness.diff_rank_seed={diff_rank_seed}',
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


def rank_traces(work):
    """rank -> {iteration: record} from a work dir's ``rank_trace_<rank>.jsonl`` files
    (tests/rank_trace.py; a resumed run appends to its first run's)."""
    out = {}
    for path in sorted(work.glob('rank_trace_*.jsonl')):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            out.setdefault(rec['rank'], {})[rec['iter']] = rec
    return out


def assert_ddp_engaged(traces, steps):
    """Ranks 0 and 1 of a world of 2 ran every step with a DDP-wrapped model, each on its
    own share of the data, and ended every step with the same parameters (gradients
    averaged: two processes training alone on different data would drift apart)."""
    assert sorted(traces) == [0, 1]
    assert sorted(traces[0]) == sorted(traces[1]) == list(range(steps))
    for it, a in traces[0].items():
        b = traces[1][it]
        assert a['world_size'] == b['world_size'] == 2, it
        assert a['wrapped'] and b['wrapped'], it
        assert a['batch'] != b['batch'], it
        assert a['params'] == b['params'], it


def shared_streams(traces):
    """The (iteration, stream) pairs where both ranks had the same seed or generator state."""
    return [
        (it, name)
        for it, a in sorted(traces[0].items())
        for name in STREAMS
        if a[name] == traces[1][it][name]
    ]


def test_resume_on_two_ranks_is_exact(tiny_figures, tmp_path):
    """Dropout, a different random stream per rank, validation between checkpoints."""
    full, part = tmp_path / 'full', tmp_path / 'part'
    torchrun(TRACE_CONFIG, full, tiny_figures, 2)
    torchrun(TRACE_CONFIG, part, tiny_figures, 1)
    torchrun(TRACE_CONFIG, part, tiny_figures, 2, '--resume')
    a, b = weights(full / 'epoch_2.pth'), weights(part / 'epoch_2.pth')
    for key in a:
        assert torch.equal(a[key], b[key]), key
    traces = rank_traces(full)
    assert_ddp_engaged(traces, steps=4)  # 2 epochs x 2 iterations
    assert shared_streams(traces) == []  # every step, each rank its own seed and streams
    # each rank's resumed steps drew, saw and produced exactly what the uninterrupted run's did
    assert rank_traces(part) == traces


def test_one_seed_for_both_ranks_is_detected(tiny_figures, tmp_path):
    """The control: with ``randomness.diff_rank_seed=False`` both ranks seed every step
    alike. DDP still runs, and the stream check of the test above fails at every step."""
    work = tmp_path / 'work'
    torchrun(TRACE_CONFIG, work, tiny_figures, 1, diff_rank_seed=False)
    traces = rank_traces(work)
    assert_ddp_engaged(traces, steps=2)
    assert shared_streams(traces) == [(it, name) for it in range(2) for name in STREAMS]


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
