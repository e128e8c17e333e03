"""Shared fixtures: deterministic seeds and randomised (non-trivial) flows."""

import pytest
import torch

import mmpose_rle  # noqa: F401  (registers everything)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(scope='session')
def tiny_figures(tmp_path_factory):
    """A small procedural data set (24 train / 8 val images)."""
    from mmpose_rle.datasets import SyntheticFigures, generate_synthetic_figures

    return generate_synthetic_figures(
        str(tmp_path_factory.mktemp('data')),
        SyntheticFigures(num_train=24, num_val=8, image_size=96),
        progress=False,
    )
