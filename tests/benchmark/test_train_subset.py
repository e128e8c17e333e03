"""Training on a fraction of the training split: a seeded subset through ``indices``."""

import pytest
from mmengine.config import Config
from mmpose.registry import DATASETS

from mmpose_rle.benchmark import subset_training_set
from tests.helpers import QUICKSTART_CONFIG


def test_a_seeded_subset_of_the_requested_size(monkeypatch, tiny_figures):
    monkeypatch.setenv('MMPOSE_RLE_DATA_ROOT', str(tiny_figures))
    cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    assert subset_training_set(cfg, 1.0, seed=0) is cfg
    quarter = subset_training_set(cfg, 0.25, seed=0)
    indices = quarter.train_dataloader.dataset.indices
    assert len(indices) == 6 and len(set(indices)) == 6 and max(indices) < 24  # of 24
    assert 'indices' not in cfg.train_dataloader.dataset  # the input is not modified
    assert subset_training_set(cfg, 0.25, seed=0).train_dataloader.dataset.indices == indices
    assert subset_training_set(cfg, 0.25, seed=1).train_dataloader.dataset.indices != indices
    dataset = DATASETS.build(dict(quarter.train_dataloader.dataset, pipeline=[]))
    full = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    assert [dataset[i]['img_path'] for i in range(6)] == [full[i]['img_path'] for i in indices]
    with pytest.raises(ValueError, match='fraction'):
        subset_training_set(cfg, 0.0, seed=0)
