"""OfficialRLEHead: the authors' layers, coordinates from normalised features, starting at
the crop's centre."""

import pytest
import torch
from mmpose.testing import get_packed_inputs

from mmpose_rle.models import OfficialRLEHead

C, K = 32, 17
CODEC = dict(type='RegressionLabel', input_size=(192, 256))


def feats(batch_size=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(batch_size, C, generator=gen),)


def test_coordinates_from_normalised_features_sigma_from_raw_ones():
    head = OfficialRLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    head.init_weights()
    keys = set(head.state_dict())
    assert {'fc_coord.weight', 'fc_coord.bias', 'fc_sigma.weight', 'fc_sigma.bias'} <= keys
    assert not any(k.startswith('fc.') for k in keys)
    x = feats()[0] * 7.0
    out = head.forward((x,))
    w, b = head.fc_coord.weight, head.fc_coord.bias
    coords = (x @ w.t()) / x.norm(dim=1, keepdim=True) + b
    sigma = x @ head.fc_sigma.weight.t() + head.fc_sigma.bias
    torch.testing.assert_close(out[..., :2], coords.reshape(-1, K, 2))
    torch.testing.assert_close(out[..., 2:], sigma.reshape(-1, K, 2))
    # coordinates are invariant to the feature scale, sigmas are not
    out2 = head.forward((x * 3,))
    torch.testing.assert_close(out2[..., :2], out[..., :2])
    assert not torch.allclose(out2[..., 2:], out[..., 2:])
    data = get_packed_inputs(3, num_keypoints=K, with_heatmap=False, with_simcc_label=False)[
        'data_samples'
    ]
    assert torch.isfinite(head.loss((x,), data)['loss_kpt'])


def test_starts_at_the_centre_of_the_crop():
    """The official model's coordinates start at the crop's centre (0 in its centred
    units, 0.5 in MMPose's); the first version started at the corner."""
    head = OfficialRLEHead(in_channels=C, num_joints=K, decoder=CODEC)
    head.init_weights()
    out = head.forward(feats())
    torch.testing.assert_close(out[..., :2], torch.full_like(out[..., :2], 0.5), rtol=0, atol=0.05)
    head.init_weights()  # a second call (e.g. by the runner) leaves loaded weights alone
    with torch.no_grad():
        head.fc_coord.bias.fill_(0.2)
    head.init_weights()
    assert (head.fc_coord.bias == 0.2).all()


@pytest.mark.parametrize('sigma_init', [None, 0.1])
def test_sigma_init(sigma_init):
    head = OfficialRLEHead(in_channels=C, num_joints=K, sigma_init=sigma_init)
    head.init_weights()
    sigma = head.forward((torch.zeros(2, C),))[..., 2:].sigmoid()
    torch.testing.assert_close(sigma, torch.full_like(sigma, sigma_init or 0.5), rtol=0, atol=1e-6)
