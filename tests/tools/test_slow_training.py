"""Opt-in slow tests (``-m slow``): real data and distributed training on the CPU."""
import json
import socket
from pathlib import Path

import pytest

from tests.helpers import QUICKSTART_CONFIG, ROOT, TINY_OPTIONS, run_tool

pytestmark = pytest.mark.slow

OPENFIELD = ROOT.parent / 'shared/data/openfield'
OWN_DATA_CONFIG = ROOT / 'configs/own_data/rle_res18_openfield-128x128.py'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_torchrun_two_cpu_processes(tiny_figures, tmp_path):
    """`tools/train.py --launcher pytorch` under torchrun on a machine without a GPU."""
    work = tmp_path / 'work'
    proc = run_tool(['-m', 'torch.distributed.run', '--nproc_per_node=2',
                     f'--master_port={_free_port()}', 'tools/train.py', str(QUICKSTART_CONFIG),
                     '--launcher', 'pytorch', '--work-dir', str(work), '--cfg-options',
                     *TINY_OPTIONS, 'train_cfg.max_epochs=1'],
                    env={'MMPOSE_RLE_DATA_ROOT': str(tiny_figures), 'OMP_NUM_THREADS': '1'})
    assert (work / 'epoch_1.pth').exists()
    out = proc.stdout + proc.stderr
    assert 'Distributed training: True' in out
    assert 'Epoch(train) [1][2/2]' in out  # 24 images / (2 processes x 8) = 2 iterations


@pytest.mark.skipif(not OPENFIELD.exists(),
                    reason=f'openfield data not found at {OPENFIELD} (it ships beside the '
                    'repository in ../shared, not with the package)')
def test_openfield_accuracy_rises(tmp_path):
    """Real mouse frames: 40 epochs of the own-data config (LR drops at 30 and 36); PCK
    and EPE improve."""
    work = tmp_path / 'work'
    run_tool(['tools/train.py', str(OWN_DATA_CONFIG), '--work-dir', str(work),
              '--cfg-options', 'train_cfg.max_epochs=40', 'train_cfg.val_interval=10',
              'param_scheduler.1.milestones=[30,36]', 'randomness.seed=0'],
             env={'OPENFIELD_ROOT': str(OPENFIELD)}, timeout=1800)
    records = [json.loads(line) for path in work.glob('*/vis_data/scalars.json')
               for line in Path(path).read_text().splitlines()]
    vals = [r for r in records if 'PCK' in r]
    assert len(vals) == 4
    assert vals[-1]['PCK'] > vals[0]['PCK'] + 0.05
    assert vals[-1]['EPE'] < vals[0]['EPE']
