"""Turn an ordinary MMPose/MMEngine config into this package's training set-up.

Used by ``tools/train.py`` (and so by ``mim train mmpose_rle``); every step is also
useful on its own.
"""

import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config

from .cpu_ddp import init_cpu_distributed
from .seeded_data import wrap_seeded

__all__ = ['configure_training', 'add_hook', 'default_work_dir']

_NOT_EPOCH_SAMPLERS = ('InfiniteSampler',)


def configure_training(
    cfg: Config,
    config_path: str,
    work_dir: Optional[str] = None,
    resume: Optional[str] = None,
    amp: Optional[str] = None,
    launcher: str = 'none',
    exact_resume: bool = True,
) -> Config:
    """Set work dir, resume, AMP, launcher and exact-resume machinery on ``cfg``.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        config_path (str): Its path (names the default work dir).
        work_dir (str, optional): Overrides ``cfg.work_dir``; the default is
            ``./work_dirs/<config name>``.
        resume (str, optional): ``'auto'`` resumes from the latest checkpoint of the
            work dir, a path from that checkpoint.
        amp (str, optional): ``'fp16'`` or ``'bf16'``: train with MMEngine's
            ``AmpOptimWrapper`` in that dtype.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``. Without a GPU
            the process group is started with gloo from the launcher's environment
            (:func:`~mmpose_rle.engine.init_cpu_distributed`); build the runner with
            :class:`~mmpose_rle.engine.CPUAwareRunner`, which wraps CPU models right.
        exact_resume (bool): Seed every training sample by (seed, epoch, index) and every
            training step by (seed, iteration), so a resumed run equals the uninterrupted
            one (:mod:`mmpose_rle.engine.seeded_data`,
            :mod:`mmpose_rle.engine.step_seed_hook`).

    :class:`~mmpose_rle.engine.HeadDatasetCheckHook` is always added: a head whose
    ``num_joints`` does not fit the data set fails before the first iteration.
    """
    cfg.launcher = launcher
    cfg.work_dir = default_work_dir(cfg, config_path, work_dir)

    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume

    if amp:
        if amp not in ('fp16', 'bf16'):
            raise ValueError(f'amp must be fp16 or bf16, got {amp!r}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'float16' if amp == 'fp16' else 'bfloat16'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if launcher != 'none' and not torch.cuda.is_available():
        init_cpu_distributed(launcher)
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'

    add_hook(cfg, 'mmpose_rle.HeadDatasetCheckHook')
    sampler = cfg.train_dataloader.get('sampler', {}).get('type', 'DefaultSampler')
    if exact_resume and sampler.split('.')[-1] not in _NOT_EPOCH_SAMPLERS:
        cfg.train_dataloader = wrap_seeded(cfg.train_dataloader)
        add_hook(cfg, 'mmpose_rle.StepSeedHook')
    return cfg


def default_work_dir(cfg: Config, config_path: str, work_dir: Optional[str] = None) -> str:
    """``work_dir``, else ``cfg.work_dir``, else ``./work_dirs/<config name>``."""
    return (
        work_dir
        or cfg.get('work_dir')
        or osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
    )


def add_hook(cfg: Config, hook_type: str) -> None:
    """Append ``dict(type=hook_type)`` to ``cfg.custom_hooks`` unless it is there."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    name = hook_type.split('.')[-1]
    if not any(h.get('type', '').split('.')[-1] == name for h in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks
