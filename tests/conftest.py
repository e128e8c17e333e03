"""Shared fixtures: deterministic seeds and randomised (non-trivial) flows."""
import pytest
import torch

import mmpose_rle  # noqa: F401  (registers everything)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
