"""The variants: each swaps only the head, the neck and the training target."""

import pytest
from mmengine.config import Config

from mmpose_rle.benchmark import DEFAULT_VARIANTS, default_variants, make_variant
from mmpose_rle.benchmark.variants import TOP_DOWN_VARIANTS
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


def test_every_top_down_variant_runs_by_default_once(base):
    assert sorted(DEFAULT_VARIANTS) == sorted(TOP_DOWN_VARIANTS)
    assert len(set(DEFAULT_VARIANTS)) == len(DEFAULT_VARIANTS) == 11
    assert default_variants(base) == DEFAULT_VARIANTS


def test_variants_of_one_kind_refuse_a_base_of_the_other(base):
    with pytest.raises(ValueError, match='does not apply to a top-down'):
        make_variant(base, 'yoloxpose')


def test_heads_on_the_feature_map_and_quarter_size_targets(base):
    """The quick start's input is 64×64: a ResNet's feature map is 2×2 (1/32) and the
    SimpleBaseline targets 16×16 (1/4)."""
    assert base.model.head.decoder['input_size'] == (64, 64)
    for name in ('integral_rle', 'dense_rle', 'dsnt', 'integral_regression'):
        cfg = make_variant(base, name)
        assert cfg.model.head.in_featuremap_size == (2, 2) and 'neck' not in cfg.model
    for name, codec in (('heatmap', 'MSRAHeatmap'), ('dsnt', 'IntegralRegressionLabel')):
        cfg = make_variant(base, name)
        assert cfg.codec['type'] == codec and cfg.codec['heatmap_size'] == (16, 16)
        assert cfg.model.head.decoder == cfg.codec and cfg.model.test_cfg.flip_test
    soft_argmax = make_variant(base, 'integral_rle').model
    assert soft_argmax.head.decoder == base.model.head.decoder  # RLE's own target
    assert soft_argmax.test_cfg == base.model.test_cfg


def test_options_before_and_after_the_head_swap(base):
    before = make_variant(base, 'heatmap', options={'model.head.num_joints': 5})
    assert before.model.head.out_channels == 5  # the new head is built from the base's
    after = make_variant(base, 'dense_rle', variant_options={'model.head.sigma_init': 0.1})
    assert after.model.head.sigma_init == 0.1 and 'sigma_init' not in base.model.head
