"""The variants of the lifting benchmark, loss × (initialisation, units): each builds the head
it declares."""

import math

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.models.heads import TemporalRegressionHead
from mmpose.registry import MODELS

from mmpose_rle.benchmark.lifting_variants import (
    LIFTING_CONTRASTS,
    LIFTING_VARIANTS,
    MMPOSE_LIFTING_INIT_CFG,
    write_variant_config,
)
from mmpose_rle.models import RLELiftingHead
from tests.helpers import ROOT

CUBE, METRES = 'Normal(0.01), 2 m cube', 'PyTorch default, metres'


@pytest.mark.parametrize('name', list(LIFTING_VARIANTS))
def test_variant_configs_build_the_head_they_declare(name, tmp_path, monkeypatch):
    """Each variant's model: its loss, the init of the head's convolutions (weight std:
    0.01, or PyTorch's default 1/√(3·C)) and its units (2 m or 1 m per unit of output)."""
    monkeypatch.setenv('MMPOSE_RLE_LIFTING_ROOT', str(tmp_path))
    variant = LIFTING_VARIANTS[name]
    path = write_variant_config(name, str(ROOT / 'configs/quickstart3d'), False, str(tmp_path))
    cfg = Config.fromfile(path)
    base = Config.fromfile(
        str(ROOT / f'configs/quickstart3d/tcn-1frm_{variant.base}_synthetic3d.py')
    )
    assert {k: v for k, v in cfg.items() if k != 'model'} == {
        k: v for k, v in base.items() if k != 'model'
    }
    assert cfg.model.backbone == base.model.backbone
    init_default_scope('mmpose')
    model = MODELS.build(cfg.model)
    model.init_weights()
    head, channels = model.head, cfg.model.head.in_channels
    is_rle = isinstance(head, RLELiftingHead)
    assert is_rle == (variant.loss == 'RLE')
    assert type(getattr(head.loss_module, 'loss', head.loss_module)).__name__ == (
        'RLELoss' if is_rle else 'MSELoss'
    )
    std = 0.01 if variant.init == CUBE else 1 / math.sqrt(3 * channels)
    for conv in [head.conv] + ([head.conv_sigma] if is_rle else []):
        assert conv.weight.detach().std().item() == pytest.approx(std, rel=0.05)
    # metres per unit of the head's raw output: 2 in the cube, 1 in metres (MMPose's head)
    assert getattr(head, 'label_scale', 1.0) == pytest.approx(2.0 if variant.init == CUBE else 1.0)


def test_mmposes_init_cfg_is_the_one_declared():
    mmpose_head = TemporalRegressionHead(in_channels=1, num_joints=1)
    assert MMPOSE_LIFTING_INIT_CFG == mmpose_head.default_init_cfg


def test_contrasts_change_what_they_say_they_isolate():
    for a, b, what in LIFTING_CONTRASTS:
        va, vb = LIFTING_VARIANTS[a], LIFTING_VARIANTS[b]
        same_loss, same_init = va.loss == vb.loss, va.init == vb.init
        if what.startswith('the loss'):
            assert not same_loss and same_init, (a, b)
        elif what.startswith('init and units'):
            assert same_loss and not same_init, (a, b)
        else:
            assert not same_loss and not same_init, (a, b)
