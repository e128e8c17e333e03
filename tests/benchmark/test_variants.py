"""The variants: each swaps only the head, the neck and the training target."""

import pytest
from mmengine.config import Config

from mmpose_rle.benchmark import (
    make_variant,
)
from tests.helpers import QUICKSTART_CONFIG


@pytest.fixture(scope='module')
def base():
    return Config.fromfile(str(QUICKSTART_CONFIG))


@pytest.mark.parametrize(
    'name, head, encoder',
    [
        ('rle', 'mmpose_rle.RLEHead', 'RegressionLabel'),
        ('mmpose_rle', 'RLEHead', 'RegressionLabel'),
        ('heatmap', 'HeatmapHead', 'MSRAHeatmap'),
        ('l1', 'RegressionHead', 'RegressionLabel'),
    ],
)
def test_variants_swap_only_head_neck_and_target(base, name, head, encoder):
    cfg = make_variant(base, name)
    assert cfg.model.head.type == head
    assert cfg.model.backbone == base.model.backbone
    encoders = [
        t.encoder.type for t in cfg.train_dataloader.dataset.pipeline if t.type == 'GenerateTarget'
    ]
    assert encoders == [encoder]
    assert ('neck' in cfg.model) == (name != 'heatmap')
    assert base.model.head.type == 'mmpose_rle.RLEHead'  # the base is not modified


def test_variant_losses(base):
    assert make_variant(base, 'reparam').model.head.loss.design == 'reparam'
    official = make_variant(base, 'official').model.head
    assert official.type == 'mmpose_rle.OfficialRLEHead'
    assert official.loss.formulation == 'official'
    with pytest.raises(ValueError, match='unknown variant'):
        make_variant(base, 'nope')
