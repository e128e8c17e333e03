"""Fixtures of the calibration tests: a top-down, a one-stage and a lifting model with their
data."""

import pytest

from tests.calibration.bottomup_fixtures import crowds_data, one_stage_model_and_loader
from tests.calibration.fixtures import (
    lifting_data,
    lifting_model_and_loader,
    topdown_model_and_loader,
)


@pytest.fixture(scope='module')
def model_and_loader(tiny_figures):
    """The quick-start model, untrained, and the tiny validation split."""
    return topdown_model_and_loader(tiny_figures)


@pytest.fixture(scope='module')
def lifting(tmp_path_factory):
    """A perturbed lifting model (RLELiftingHead) and its validation split."""
    return lifting_model_and_loader(lifting_data(tmp_path_factory.mktemp('lifting')))


@pytest.fixture(scope='module')
def one_stage(tmp_path_factory):
    """The one-stage RLE model (BottomupPoseEstimator, YOLOXPoseRLEHead), untrained, and 4
    procedural crowd images at 64×64."""
    return one_stage_model_and_loader(crowds_data(tmp_path_factory.mktemp('crowds')))
