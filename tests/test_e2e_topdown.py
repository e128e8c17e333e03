"""End to end: MMPose's R50 RLE config with only the head and loss swapped to ours."""

from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS
from mmpose.testing import get_packed_inputs
from mmpose.utils import register_all_modules  # noqa: F401

from mmpose_rle.models import RLEHead, RLELoss

ROOT = Path(__file__).resolve().parents[1]
OURS = (
    ROOT / 'configs/body_2d_keypoint/topdown_regression/coco/'
    'td-reg_res50_rle-8xb64-210e_coco-256x192.py'
)


def mmpose_config_path() -> Path:
    import mmpose

    return (
        Path(mmpose.__file__).parent / '.mim/configs/body_2d_keypoint/'
        'topdown_regression/coco/td-reg_res50_rle-8xb64-210e_coco-256x192.py'
    )


@pytest.fixture(scope='module')
def models():
    init_default_scope('mmpose')
    ours_cfg, theirs_cfg = Config.fromfile(OURS), Config.fromfile(mmpose_config_path())
    # the configs differ only in the head and loss types
    diff = {k for k in ours_cfg.model.head if ours_cfg.model.head[k] != theirs_cfg.model.head[k]}
    assert diff == {'type', 'loss'}
    assert ours_cfg.model.backbone == theirs_cfg.model.backbone
    torch.manual_seed(0)
    theirs = MODELS.build(theirs_cfg.model).eval()  # no init_weights: nothing downloads
    with torch.no_grad():
        theirs.head.fc.weight.normal_(0, 0.01)
    ours = MODELS.build(ours_cfg.model).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def batch(batch_size=2):
    data = get_packed_inputs(
        batch_size,
        num_keypoints=17,
        img_shape=(256, 192),
        input_size=(192, 256),
        with_heatmap=False,
        with_simcc_label=False,
    )
    for sample in data['data_samples']:  # COCO's flip pairs
        sample.set_metainfo(
            dict(flip_indices=[0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])
        )
    return data


def test_config_builds_our_parts(models):
    ours, _ = models
    assert type(ours.head) is RLEHead and type(ours.head.loss_module) is RLELoss


def test_predictions_equal_mmpose_model(models):
    ours, theirs = models
    assert ours.test_cfg['flip_test']
    with torch.no_grad():
        a = ours.test_step(batch())
        b = theirs.test_step(batch())
    for sa, sb in zip(a, b):
        torch.testing.assert_close(
            sa.pred_instances.keypoints, sb.pred_instances.keypoints, rtol=0, atol=1e-4
        )
        torch.testing.assert_close(
            sa.pred_instances.keypoint_scores, sb.pred_instances.keypoint_scores, rtol=0, atol=1e-6
        )


def test_training_step(models):
    ours, theirs = models
    ours.train()
    theirs.train()
    data = batch()
    with torch.no_grad():
        loss_ours = ours.loss(*ours.data_preprocessor(data, True).values())
        loss_theirs = theirs.loss(*theirs.data_preprocessor(data, True).values())
    torch.testing.assert_close(loss_ours['loss_kpt'], loss_theirs['loss_kpt'])
    before = ours.head.fc.weight.detach().clone()
    wrapper = OptimWrapper(torch.optim.SGD(ours.parameters(), lr=0.01))
    log_vars = ours.train_step(data, wrapper)
    assert torch.isfinite(log_vars['loss'])
    assert not torch.equal(ours.head.fc.weight, before)
    ours.eval()
