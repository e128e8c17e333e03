"""Models and loaders for the calibration tests (shared with tests/engine)."""

import os
from pathlib import Path
from typing import Tuple
from unittest import mock

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpose.registry import MODELS

from mmpose_rle.apis.onnx_export import build_model
from mmpose_rle.calibration import collect_predictions
from mmpose_rle.datasets import SyntheticLifting, generate_synthetic_lifting
from tests.helpers import QUICKSTART_CONFIG, ROOT

__all__ = [
    'LIFTING_CONFIG',
    'head_rms',
    'lifting_data',
    'lifting_model_and_loader',
    'raw_predictions',
    'topdown_model_and_loader',
]

#: The 3-D quick start's RLE config (VideoPoseLifting keeps the root: RLELiftingHead's
#: fixed root is joint 0).
LIFTING_CONFIG = ROOT / 'configs/quickstart3d/tcn-1frm_rle_synthetic3d.py'


def topdown_model_and_loader(data_root: Path) -> Tuple[torch.nn.Module, object]:
    """The quick-start model, untrained (its flip test moves the predictions a lot), and the
    validation split of ``data_root`` in batches of 8."""
    with mock.patch.dict(os.environ, MMPOSE_RLE_DATA_ROOT=str(data_root)):
        cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    cfg.val_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    return build_model(cfg), Runner.build_dataloader(cfg.val_dataloader)


def lifting_data(folder: Path) -> Path:
    """Procedural skeletons: 1 training video, 3 validation videos of 30 frames."""
    params = SyntheticLifting(num_train_videos=1, num_val_videos=3, frames=30, outlier_rate=0.1)
    return generate_synthetic_lifting(str(folder), params)


def lifting_model_and_loader(data_root: Path) -> Tuple[torch.nn.Module, object]:
    """:data:`LIFTING_CONFIG`'s model, initialised and then perturbed (so that σ varies
    between joints and samples), in eval mode, and the validation split of ``data_root``."""
    with mock.patch.dict(os.environ, MMPOSE_RLE_LIFTING_ROOT=str(data_root)):
        cfg = Config.fromfile(str(LIFTING_CONFIG))
    cfg.val_dataloader.update(batch_size=32, num_workers=0, persistent_workers=False)
    init_default_scope('mmpose')
    gen = torch.Generator().manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for p in model.head.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    return model.eval(), Runner.build_dataloader(cfg.val_dataloader)


def raw_predictions(model, loader, flip_test: bool) -> dict:
    """What the model predicts with ``test_cfg.flip_test`` set by hand (identity maps)."""
    model.head.sigma_calibration.reset_()
    before = model.test_cfg['flip_test']
    model.test_cfg['flip_test'] = flip_test
    try:
        return collect_predictions(model, loader)
    finally:
        model.test_cfg['flip_test'] = before


@torch.no_grad()
def head_rms(model, loader) -> np.ndarray:
    """``(N, K, D)`` the head's predictive RMS in its own units, straight from
    ``predict_outputs`` (one view, through the single-view map)."""
    rms = []
    for batch in loader:
        inputs = model.data_preprocessor(batch, False)['inputs']
        if isinstance(inputs, list):  # as BasePoseEstimator.forward does
            inputs = torch.stack(inputs)
        rms.append(model.head.predict_outputs(model.extract_feat(inputs)).rms.numpy())
    return np.concatenate(rms).astype(np.float64)
