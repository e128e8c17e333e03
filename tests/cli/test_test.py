"""mmpose_rle.cli.test: which configs get the uncertainty metric, and the options it takes
(the run itself: tests/tools/test_mim_and_tools.py)."""

import pytest
from mmengine.config import Config

from mmpose_rle.benchmark import make_variant
from mmpose_rle.cli.test import parse_args, predicts_sigmas
from tests.helpers import QUICKSTART_CONFIG, ROOT


@pytest.mark.parametrize(
    'variant, expected',
    [('rle', True), ('official', True), ('dense_rle', True), ('mmpose_rle', False), ('l1', False)],
)
def test_uncertainty_metric_for_the_rle_family_only(variant, expected):
    """Ours (any scope spelling) predict keypoint_sigmas; MMPose's RLEHead does not."""
    cfg = make_variant(Config.fromfile(str(QUICKSTART_CONFIG)), variant)
    assert predicts_sigmas(cfg) is expected


def test_test_options():
    args = parse_args(['c.py', 'k.pth', '--out', 'p.pkl', '--show-dir', 'vis', '--interval', '3'])
    assert (args.checkpoint, args.out, args.show_dir, args.interval) == ('k.pth', 'p.pkl', 'vis', 3)
    assert parse_args(['c.py', 'k.pth']).interval == 1


@pytest.mark.parametrize('variant, expected', [('yoloxpose_rle', True), ('yoloxpose', False)])
def test_uncertainty_metric_for_the_one_stage_rle_head(variant, expected):
    cfg = Config.fromfile(str(ROOT / 'configs/own_data/yoloxpose-rle_tiny_openfield-320.py'))
    assert predicts_sigmas(make_variant(cfg, variant)) is expected
