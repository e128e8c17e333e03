"""Opt-in slow test (``-m slow``): training on real data."""

import json
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_tool

pytestmark = pytest.mark.slow

OPENFIELD = ROOT.parent / 'shared/data/openfield'
OWN_DATA_CONFIG = ROOT / 'configs/own_data/rle_res18_openfield-128x128.py'


@pytest.mark.skipif(
    not OPENFIELD.exists(),
    reason=f'openfield data not found at {OPENFIELD} (it ships beside the '
    'repository in ../shared, not with the package)',
)
def test_openfield_accuracy_rises(tmp_path):
    """Real mouse frames: 40 epochs of the own-data config (LR drops at 30 and 36); PCK
    and EPE improve."""
    work = tmp_path / 'work'
    run_tool(
        [
            'tools/train.py',
            str(OWN_DATA_CONFIG),
            '--work-dir',
            str(work),
            '--cfg-options',
            'train_cfg.max_epochs=40',
            'train_cfg.val_interval=10',
            'param_scheduler.1.milestones=[30,36]',
            'randomness.seed=0',
        ],
        env={'OPENFIELD_ROOT': str(OPENFIELD)},
        timeout=1800,
    )
    records = [
        json.loads(line)
        for path in work.glob('*/vis_data/scalars.json')
        for line in Path(path).read_text().splitlines()
    ]
    vals = [r for r in records if 'PCK' in r]
    assert len(vals) == 4
    assert vals[-1]['PCK'] > vals[0]['PCK'] + 0.05
    assert vals[-1]['EPE'] < vals[0]['EPE']
