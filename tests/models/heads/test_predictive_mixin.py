"""RLEPredictiveMixin: a head answers from the model it owns."""

import torch

from mmpose_rle.models.heads.predictive_mixin import RLEPredictiveMixin
from mmpose_rle.models.losses import RLELoss
from mmpose_rle.models.losses.rle_predictive import RLEPredictive


class _Head(RLEPredictiveMixin):
    def __init__(self, loss):
        self.predictive_model = RLEPredictive.of(loss)


def test_answers_are_the_loss_models():
    loss = RLELoss(q_distribution='gaussian')
    head = _Head(loss)
    assert head.q_distribution == 'gaussian'
    torch.testing.assert_close(head.residual_rms(), loss.predictive_model.residual_rms())
    mu, sigma = torch.rand(2, 3, 2), torch.rand(2, 3, 2)
    coords, rms = head.predictive(mu, sigma)
    torch.testing.assert_close(coords, mu)
    torch.testing.assert_close(rms, sigma * loss.predictive_model.residual_rms())


def test_a_loss_without_a_flow_predicts_its_own_sigma():
    head = _Head(torch.nn.MSELoss())
    mu, sigma = torch.rand(4, 2), torch.rand(4, 2)
    assert head.residual_rms() is None and head.q_distribution == 'laplace'
    assert head.predictive(mu, sigma) == (mu, sigma)
