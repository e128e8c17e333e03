"""Helpers shared by the tests."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional, Sequence

import torch

__all__ = [
    'randomise_',
    'scaling_realnvp',
    'ROOT',
    'QUICKSTART_CONFIG',
    'TINY_OPTIONS',
    'run_tool',
    'load_tool',
]

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART_CONFIG = ROOT / 'configs/quickstart/rle_res18_synthetic-64x64.py'
#: --cfg-options that shrink the quick-start config to seconds per epoch.
TINY_OPTIONS = [
    'train_dataloader.batch_size=8',
    'val_dataloader.batch_size=8',
    'default_hooks.logger.interval=1',
    'randomness.seed=0',
    'default_hooks.checkpoint.interval=1',
    'default_hooks.checkpoint.max_keep_ckpts=3',
    'log_processor.window_size=1',
]


def randomise_(module: torch.nn.Module, std: float = 0.3, seed: int = 0) -> torch.nn.Module:
    """Replace every parameter by N(0, std²) draws: the default flow init is close to the
    identity and would let wrong maths pass."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
    return module


def scaling_realnvp(log_scale: Sequence[float], dim: int = 2) -> torch.nn.Module:
    """A RealNVP that only scales: every parameter zero (``t = 0``) except the last bias of
    the ``s`` nets, so that each layer moving coordinate ``c`` has log-scale
    ``log_scale[c]`` (in (−1, 1)). ``G`` is then ``N(0, diag(e^{2 n_c log_scale[c]}))``,
    ``n_c`` the number of layers that move ``c``."""
    from mmpose_rle.models.flows import RealNVP

    flow = RealNVP(dim=dim)
    with torch.no_grad():
        for p in flow.parameters():
            p.zero_()
        target = torch.atanh(torch.tensor(log_scale, dtype=torch.float64)).float()
        for net in flow.s:
            net[-2].bias.copy_(target)  # the Linear before the final tanh
    return flow.eval()


def run_tool(
    args: List[str],
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[Path] = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """Run ``python <args>`` (or ``python -m``) and fail with its output if it fails."""
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(
        [sys.executable, *args],
        env=full_env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f'{args} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}'
    return proc


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` imported as a module, to call its ``main`` in the test process."""
    spec = importlib.util.spec_from_file_location(f'{name}_tool', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
