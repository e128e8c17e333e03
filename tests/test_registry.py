"""Registry scoping: our parts live in the child scope 'mmpose_rle', MMPose's stay MMPose's."""

import pytest
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope
from mmpose.models.heads import RLEHead as MMPoseRLEHead
from mmpose.models.losses import RLELoss as MMPoseRLELoss
from mmpose.registry import MODELS as MMPOSE_MODELS

from mmpose_rle import models
from mmpose_rle.registry import MODELS

HEAD = dict(type='mmpose_rle.RLEHead', in_channels=8, num_joints=3)


def test_child_of_mmpose_with_own_scope():
    assert MODELS.scope == 'mmpose_rle'
    assert MODELS.parent is MMPOSE_MODELS
    assert MMPOSE_MODELS.children['mmpose_rle'] is MODELS


@pytest.mark.parametrize(
    'name, cls',
    [('RLEHead', models.RLEHead), ('RLELoss', models.RLELoss), ('RealNVP', models.RealNVP)],
)
def test_scoped_names_build_ours_through_mmpose_registry(name, cls):
    assert MMPOSE_MODELS.get(f'mmpose_rle.{name}') is cls


def test_builds_through_mmpose_registry_and_runner_default_scope():
    assert type(MMPOSE_MODELS.build(HEAD)) is models.RLEHead
    # MMEngine's Runner builds from the root registry under the config's default scope
    with DefaultScope.overwrite_default_scope('mmpose'):
        assert type(ROOT_MODELS.build(HEAD)) is models.RLEHead


def test_mmpose_names_are_untouched():
    assert MMPOSE_MODELS.get('RLEHead') is MMPoseRLEHead
    assert MMPOSE_MODELS.get('RLELoss') is MMPoseRLELoss
    assert MMPOSE_MODELS.module_dict['RLEHead'] is MMPoseRLEHead
    assert 'RealNVP' not in MMPOSE_MODELS.module_dict
    head = MMPOSE_MODELS.build(dict(type='RLEHead', in_channels=8, num_joints=3))
    assert type(head) is MMPoseRLEHead and type(head.loss_module) is MMPoseRLELoss


def test_default_loss_is_ours_under_mmpose_default_scope():
    with DefaultScope.overwrite_default_scope('mmpose'):
        head = MMPOSE_MODELS.build(HEAD)
    assert type(head.loss_module) is models.RLELoss
    assert type(head.loss_module.flow_model) is models.RealNVP


def test_unscoped_names_resolve_to_ours_in_our_scope():
    with DefaultScope.overwrite_default_scope('mmpose_rle'):
        head = ROOT_MODELS.build(dict(type='RLEHead', in_channels=8, num_joints=3))
    assert type(head) is models.RLEHead
