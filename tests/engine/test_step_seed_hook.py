"""StepSeedHook: the random stream of a step depends on (seed, iteration) only."""

import random
from types import SimpleNamespace

import numpy as np
import torch

from mmpose_rle.engine import SeededDataset, StepSeedHook, seed_everything


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_same_seed_and_iteration_give_the_same_draws_whatever_came_before():
    seed_everything(7, 3)
    first = draws()
    torch.rand(100)  # anything in between (validation, a loader's base seed ...)
    np.random.rand(5)
    seed_everything(7, 3)
    assert draws() == first
    seed_everything(7, 4)
    assert draws() != first
    seed_everything(8, 3)
    assert draws() != first


def test_hook_seeds_each_step_from_the_runner_and_sets_the_dataset_seed():
    dataset = SeededDataset(dataset=[0, 1, 2], seed=0)
    runner = SimpleNamespace(seed=123, iter=10, train_dataloader=SimpleNamespace(dataset=dataset))
    hook = StepSeedHook()
    hook.before_train(runner)
    assert dataset.seed == 123
    hook.before_train_iter(runner, batch_idx=0)
    got = draws()
    seed_everything(123, 10)
    assert draws() == got
