"""The one-stage variants: each changes only the head's type and losses."""

import copy
import inspect

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.models.heads.hybrid_heads.yoloxpose_head import YOLOXPoseHead
from mmpose.registry import MODELS

from mmpose_rle.benchmark import default_variants, make_variant
from mmpose_rle.benchmark.one_stage_variants import ONE_STAGE_VARIANTS, is_one_stage
from mmpose_rle.models.heads import YOLOXPoseRLEHead
from tests.helpers import QUICKSTART_CONFIG, ROOT

ONE_STAGE_CONFIG = ROOT / 'configs/own_data/yoloxpose-rle_tiny_openfield-320.py'


@pytest.fixture(scope='module')
def base():
    return Config.fromfile(str(ONE_STAGE_CONFIG))


def _without_head(cfg: Config) -> dict:
    out = cfg.to_dict()
    out['model'].pop('head')
    return out


@pytest.mark.parametrize('name', sorted(n for n in ONE_STAGE_VARIANTS if not n.startswith('rtmo')))
def test_variant_changes_only_the_head_and_builds(base, name):
    cfg = make_variant(base, name)
    assert _without_head(cfg) == _without_head(base)
    assert base.model.head.type == 'mmpose_rle.YOLOXPoseRLEHead'  # the base is not modified
    init_default_scope('mmpose')
    MODELS.build(cfg.model.head)


def test_what_each_variant_changes(base):
    baseline = make_variant(base, 'yoloxpose').model.head
    assert baseline.type == 'YOLOXPoseHead' and 'loss_rle' not in baseline
    assert not is_one_stage(make_variant(base, 'yoloxpose'))
    assert make_variant(base, 'yoloxpose_rle').model.head == base.model.head
    assert make_variant(base, 'yoloxpose_rle_only').model.head.loss_oks.loss_weight == 0
    assert base.model.head.loss_oks.loss_weight == 30
    assert make_variant(base, 'yoloxpose_rle_stride').model.head.residual_unit == 'stride'
    assert make_variant(base, 'yoloxpose_rle_exact').model.head.loss_rle.formulation == 'exact'
    assert make_variant(base, 'yoloxpose_rle_kpt_mean').model.head.keypoint_reduction == 'mean'
    assert make_variant(base, 'yoloxpose_rle_sigma_only').model.head.keypoint_detach is True


def test_the_baseline_drops_every_argument_of_ours_that_mmposes_head_lacks(base):
    ours = inspect.signature(YOLOXPoseRLEHead.__init__).parameters
    theirs = inspect.signature(YOLOXPoseHead.__init__).parameters
    extra = {n: p.default for n, p in ours.items() if n not in theirs and n != 'kwargs'}
    assert set(extra) - set(base.model.head)  # the test sets arguments the config leaves out
    cfg = copy.deepcopy(base)
    cfg.model.head.update(extra)
    init_default_scope('mmpose')
    MODELS.build(make_variant(cfg, 'yoloxpose').model.head)


def test_defaults_and_kinds(base):
    assert default_variants(base) == ['yoloxpose', 'yoloxpose_rle']
    with pytest.raises(ValueError, match='does not apply to a one-stage'):
        make_variant(base, 'heatmap')
    assert not is_one_stage(Config.fromfile(str(QUICKSTART_CONFIG)))


RTMO_CONFIG = ROOT / 'configs/one_stage/rtmo-rle_tiny_crowds-192.py'


def test_rtmo_variants(monkeypatch, tmp_path):
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(tmp_path))
    rtmo = Config.fromfile(str(RTMO_CONFIG))
    assert is_one_stage(rtmo) and default_variants(rtmo) == ['rtmo', 'rtmo_rle']
    baseline = make_variant(rtmo, 'rtmo')
    assert baseline.model.head.type == 'RTMOHead' and 'loss_rle' not in baseline.model.head
    assert _without_head(baseline) == _without_head(rtmo)
    assert make_variant(rtmo, 'rtmo_rle').model.head == rtmo.model.head
    with pytest.raises(ValueError, match='applies to a base with mmpose_rle.YOLOXPoseRLEHead'):
        make_variant(rtmo, 'yoloxpose_rle_stride')


def test_rtmo_variants_refuse_a_yoloxpose_base(base):
    with pytest.raises(ValueError, match="choose from \\['yoloxpose'"):
        make_variant(base, 'rtmo')
