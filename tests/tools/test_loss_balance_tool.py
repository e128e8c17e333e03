"""tools/loss_balance.py on the one-stage crowds config: the terms' table and, with
``--by-module``, where the summed loss's gradient goes (the σ branch and the flow included)."""

import importlib.util

import pytest

from mmpose_rle.datasets import SyntheticCrowds, generate_synthetic_crowds
from tests.helpers import ROOT


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('loss_balance', ROOT / 'tools/loss_balance.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_by_module_table(tool, tmp_path, monkeypatch):
    params = SyntheticCrowds(num_train=4, num_val=2, image_size=96, min_figures=2, seed=3)
    monkeypatch.setenv(
        'MMPOSE_RLE_CROWDS_ROOT',
        str(generate_synthetic_crowds(str(tmp_path / 'crowds'), params, progress=False)),
    )
    out = tmp_path / 'balance.md'
    tool.main(
        [
            str(ROOT / 'configs/one_stage/yoloxpose-rle_tiny_crowds-192.py'),
            '--batches',
            '1',
            '--by-module',
            '--out',
            str(out),
            '--cfg-options',
            'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
        ]
    )
    text = out.read_text()
    assert '| model | loss_rle |' in text and '| model | loss_kpt |' in text
    rows = {
        line.split('|')[2].strip(): float(line.split('|')[3])
        for line in text.splitlines()
        if line.startswith('| model | ') and line.count('|') == 4 and 'parameters' not in line
    }
    for group in ('backbone', 'neck', 'head.head_module.out_kpt_sigma', 'head.loss_rle.flow_model'):
        assert rows[group] > 0, group
    groups = [v for k, v in rows.items() if k != 'total']
    assert abs(sum(v**2 for v in groups) ** 0.5 / rows['total'] - 1) < 0.01  # 3-digit table
