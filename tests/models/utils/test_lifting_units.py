"""Units of the 3-D lifting heads: label millimetres, the cube's scale and its checks."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.model import initialize
from torch import nn

from mmpose_rle.models.utils.lifting_units import (
    CUBE_INIT_CFG,
    check_units,
    cube_label_scale,
    lifting_label_mm,
)


def test_label_mm_is_target_std_times_unit_to_mm():
    std = np.array([[0.1, 0.2, 0.3], [1.0, 2.0, 4.0]])
    codec = SimpleNamespace(target_std=std.reshape(-1))  # stored flat is fine
    np.testing.assert_allclose(
        lifting_label_mm(codec, 2, 1000.0, 'H'), [[100, 200, 300], [1000, 2000, 4000]]
    )
    # without a target_std (metres with unit_to_mm=1000, or no codec) every entry is one unit
    for codec in (None, SimpleNamespace(target_std=None), SimpleNamespace()):
        np.testing.assert_array_equal(lifting_label_mm(codec, 3, 1000.0, 'H'), np.full((3, 3), 1e3))


def test_label_mm_refuses_a_target_std_for_other_joints():
    codec = SimpleNamespace(target_std=np.ones((4, 3)))
    with pytest.raises(ValueError, match=r'MyHead.*4 joints.*num_joints=5'):
        lifting_label_mm(codec, 5, 1.0, 'MyHead')


def test_cube_label_scale_hand_case_and_its_inverse():
    label_mm = np.array([[100.0, 200.0, 300.0], [400.0, 250.0, 250.0]])  # mean 250 mm
    scale = cube_label_scale(label_mm, cube_mm=2000.0)
    assert scale == pytest.approx(8.0) and isinstance(scale, float)
    # the head's output times label_scale is in label units: the cube maps back to cube_mm
    assert scale * label_mm.mean() == pytest.approx(2000.0)
    assert cube_label_scale(label_mm, cube_mm=None) == 1.0
    # metres (unit 1000 mm) in a 2 m cube: a head output of 1 is 2 label units
    assert cube_label_scale(lifting_label_mm(None, 17, 1000.0, 'H'), 2000.0) == pytest.approx(2.0)


@pytest.mark.parametrize(
    'unit_to_mm, cube_mm', [(0.0, 2000.0), (-1.0, None), (1.0, 0.0), (1.0, -5.0)]
)
def test_check_units_refuses_non_positive_units(unit_to_mm, cube_mm):
    with pytest.raises(ValueError, match='OwnerHead: unit_to_mm and cube_mm must be positive'):
        check_units(unit_to_mm, cube_mm, 'OwnerHead')


@pytest.mark.parametrize('unit_to_mm, cube_mm', [(1.0, None), (1000.0, 2000.0), (0.5, 1e-3)])
def test_check_units_accepts_positive_units(unit_to_mm, cube_mm):
    assert check_units(unit_to_mm, cube_mm, 'OwnerHead') is None


def test_cube_init_gives_linear_and_conv1d_small_normal_weights_and_zero_bias():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(200, 300), nn.Conv1d(300, 200, 1), nn.Conv2d(3, 3, 3))
    conv2d = net[2].weight.detach().clone()
    initialize(net, CUBE_INIT_CFG)
    for layer in net[:2]:
        w = layer.weight.detach()
        assert w.std().item() == pytest.approx(0.01, rel=0.05)
        assert abs(w.mean().item()) < 1e-3
        assert (layer.bias == 0).all()
    torch.testing.assert_close(net[2].weight.detach(), conv2d)  # other layers are left alone
