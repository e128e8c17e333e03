"""RTMORegressionHead: RTMO's instances with the regression branch's keypoints, computed
independently here from the branch's layers, without moving any running statistic."""

import pytest
import torch
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

from mmpose_rle.models import RTMORegressionHead
from mmpose_rle.models.heads.rtmo_regression_head import offsets_computed
from mmpose_rle.registry import MODELS

from .rtmo_fixtures import CHANNELS, SIZE, K, features, flat, head_cfg, priors

# every prior, best first (RTMOHead.predict needs an NMS threshold below 1)
TEST_CFG = dict(score_thr=0.0, nms_thr=0.999)


def _randomised_batch_norm(module: torch.nn.Module, seed: int) -> None:
    """Running statistics away from (0, 1), so that a pass in training mode would change
    both the output and the statistics."""
    gen = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


@pytest.fixture()
def heads():
    register_all_modules()
    torch.manual_seed(0)
    theirs = MODELS.build(head_cfg('RTMOHead'))
    theirs.init_weights()
    _randomised_batch_norm(theirs, seed=1)
    ours = MODELS.build(head_cfg('mmpose_rle.RTMORegressionHead'))
    ours.load_state_dict(theirs.state_dict())
    return theirs.eval(), ours.eval()


def _samples():
    return [PoseDataSample(metainfo=dict(input_size=(SIZE, SIZE))) for _ in range(2)]


def _regression_keypoints(head, feats) -> torch.Tensor:
    """``(B, N, K, 2)``: the regression branch of every prior, from its layers: the second
    half of the channels through the pose convolutions and the offset convolution, decoded
    as prior + stride · offset."""
    module = head.head_module
    maps = [
        module.out_kpt_reg[level](module.conv_pose[level](x[:, CHANNELS // 2 :]))
        for level, x in enumerate(feats)
    ]
    offsets = flat(maps)  # (B, N, 2K)
    grid = priors()
    offsets = offsets.reshape(*offsets.shape[:2], K, 2)
    return grid[None, :, None, :2] + offsets * grid[None, :, None, 2:3]


def test_same_instances_as_rtmo_with_the_regression_keypoints(heads):
    theirs, ours = heads
    feats = features()
    with torch.no_grad():
        expected = _regression_keypoints(ours, feats)
        rtmo = theirs.predict(feats, _samples(), TEST_CFG)
        reg = ours.predict(feats, _samples(), TEST_CFG)
    for image, (a, b) in enumerate(zip(rtmo, reg)):
        for key in ('scores', 'bboxes', 'keypoint_scores', 'labels'):
            torch.testing.assert_close(torch.as_tensor(b[key]), torch.as_tensor(a[key]))
        # every prior is kept, best score first: the predictions follow the sorted scores
        assert len(b.keypoints) == expected.shape[1]
        order = torch.argsort(_scores(ours, feats)[image], descending=True)
        sorted_expected = expected[image][order]
        torch.testing.assert_close(torch.as_tensor(b.keypoints), sorted_expected, atol=1e-4, rtol=0)
        assert not torch.allclose(torch.as_tensor(b.keypoints), torch.as_tensor(a.keypoints))


def _scores(head, feats) -> torch.Tensor:
    """``(B, N)`` class probabilities of every prior, levels in order."""
    maps = [
        head.head_module.out_cls[i](head.head_module.conv_cls[i](x[:, : CHANNELS // 2]))
        for i, x in enumerate(feats)
    ]
    return torch.cat([m.sigmoid().flatten(1) for m in maps], 1)


def test_prediction_moves_no_running_statistic(heads):
    _, ours = heads
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    with torch.no_grad():
        ours.predict(features(), _samples(), TEST_CFG)
    after = ours.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key
    assert not any(m.training for m in ours.modules())


def test_offsets_computed_restores_the_flag_on_error():
    module = torch.nn.Linear(2, 2).eval()
    with pytest.raises(RuntimeError):
        with offsets_computed(module):
            assert module.training
            raise RuntimeError('inside')
    assert not module.training


def test_registered_in_our_scope_only():
    register_all_modules()
    assert MODELS.get('mmpose_rle.RTMORegressionHead') is RTMORegressionHead
    from mmpose.registry import MODELS as MMPOSE_MODELS

    assert MMPOSE_MODELS.get('RTMORegressionHead') is None
