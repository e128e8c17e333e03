"""Distributed data-parallel training without a GPU (gloo), under MMEngine's Runner.

MMEngine 0.10.7 cannot do this by itself: its ``init_dist`` calls
``torch.cuda.set_device`` for every launcher, and its ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP, which modules on the CPU reject.
:func:`init_cpu_distributed` starts the process group with gloo before the runner (which
then skips ``init_dist``), from the environment of the launcher:

========  ================================================================================
launcher  environment read (MMEngine's names)
========  ================================================================================
pytorch   ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` (set by ``torchrun``)
slurm     ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``; ``MASTER_ADDR`` if set, else
          the first host of ``SLURM_NODELIST`` (``scontrol show hostnames``);
          ``MASTER_PORT`` if set, else 29500
mpi       ``OMPI_COMM_WORLD_RANK``, ``OMPI_COMM_WORLD_SIZE``, ``OMPI_COMM_WORLD_LOCAL_RANK``;
          ``MASTER_ADDR`` (required), ``MASTER_PORT`` (else 29500)
========  ================================================================================

:class:`CPUAwareRunner` wraps CPU models without ``device_ids``.
"""

import os
import subprocess
from typing import Dict, Mapping, NamedTuple, Tuple

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import Runner

__all__ = ['CPUAwareRunner', 'init_cpu_distributed', 'launcher_environment']

_DEFAULT_PORT = '29500'


class _Launcher(NamedTuple):
    """Where a launcher puts a process's rank, world size and local rank, what it must set,
    and what to run when something is missing."""

    rank: str
    world_size: str
    local_rank: str
    required: Tuple[str, ...]
    hint: str


_LAUNCHERS = {
    'pytorch': _Launcher(
        'RANK',
        'WORLD_SIZE',
        'LOCAL_RANK',
        ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
        'start the processes with torchrun --nproc_per_node=N tools/train.py '
        'CONFIG --launcher pytorch',
    ),
    'slurm': _Launcher(
        'SLURM_PROCID',
        'SLURM_NTASKS',
        'SLURM_LOCALID',
        ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
        'start the processes with srun (or use --launcher pytorch with torchrun)',
    ),
    'mpi': _Launcher(
        'OMPI_COMM_WORLD_RANK',
        'OMPI_COMM_WORLD_SIZE',
        'OMPI_COMM_WORLD_LOCAL_RANK',
        ('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE', 'MASTER_ADDR'),
        "start the processes with Open MPI's mpirun and export "
        'MASTER_ADDR (the first host); or use --launcher pytorch with torchrun',
    ),
}


class CPUAwareRunner(Runner):
    """MMEngine's ``Runner``; distributed models on the CPU are wrapped without
    ``device_ids`` (``broadcast_buffers=False`` as MMEngine's default wrapper)."""

    def wrap_model(self, model_wrapper_cfg, model):
        if not (self.distributed and model_wrapper_cfg is None and not torch.cuda.is_available()):
            return super().wrap_model(model_wrapper_cfg, model)
        return MMDistributedDataParallel(
            module=model,
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=self.cfg.get('find_unused_parameters', False),
        )


def _require(env: Mapping[str, str], names, launcher: str, hint: str) -> None:
    missing = [n for n in names if n not in env]
    if missing:
        raise RuntimeError(
            f'--launcher {launcher} on a machine without a GPU: the '
            f'environment lacks {", ".join(missing)}; {hint}'
        )


def _first_slurm_host(node_list: str) -> str:
    try:
        out = subprocess.run(
            ['scontrol', 'show', 'hostnames', node_list], check=True, capture_output=True, text=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError) as err:
        raise RuntimeError(
            f'--launcher slurm: cannot resolve the first host of SLURM_NODELIST={node_list!r} '
            f'with scontrol ({err}); set MASTER_ADDR to it'
        ) from err
    if not out:
        raise RuntimeError(
            f'--launcher slurm: scontrol found no host in {node_list!r}; set MASTER_ADDR'
        )
    return out[0]


def launcher_environment(launcher: str, env: Mapping[str, str]) -> Dict[str, str]:
    """``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` of a
    launcher's processes, from its environment (module docstring's table).

    Raises:
        RuntimeError: A variable the launcher should have set is missing (the message
            says what to run instead).
        ValueError: An unknown launcher.
    """
    if launcher not in _LAUNCHERS:
        raise ValueError(f'unknown launcher {launcher!r}; use pytorch, slurm or mpi')
    spec = _LAUNCHERS[launcher]
    _require(env, spec.required, launcher, spec.hint)
    addr = env.get('MASTER_ADDR')
    if launcher == 'slurm' and not addr:
        addr = _first_slurm_host(env['SLURM_NODELIST'])
    return dict(
        RANK=env[spec.rank],
        WORLD_SIZE=env[spec.world_size],
        LOCAL_RANK=env.get(spec.local_rank, '0'),
        MASTER_ADDR=addr,
        MASTER_PORT=env.get('MASTER_PORT', _DEFAULT_PORT),
    )


def init_cpu_distributed(launcher: str = 'pytorch') -> bool:
    """Start a gloo process group from the launcher's environment when there is no GPU.

    Returns:
        bool: True when this function started the group, False when CUDA is available
        (MMEngine's own ``init_dist`` then applies) or a group already exists.

    Raises:
        RuntimeError: The launcher's environment is incomplete (see
            :func:`launcher_environment`).
    """
    if torch.cuda.is_available() or dist.is_initialized():
        return False
    env = launcher_environment(launcher, os.environ)
    os.environ.update(env)
    dist.init_process_group(
        backend='gloo',
        init_method='env://',
        rank=int(env['RANK']),
        world_size=int(env['WORLD_SIZE']),
    )
    return True
