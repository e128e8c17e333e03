"""Distributed data-parallel training without a GPU (gloo), under MMEngine's Runner.

MMEngine 0.10.7 cannot do this by itself: its ``init_dist`` calls
``torch.cuda.set_device`` unconditionally, and its ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP, which modules on the CPU reject.
:func:`init_cpu_distributed` starts the process group with gloo before the runner
(which then skips ``init_dist``), and :class:`CPUAwareRunner` wraps CPU models without
``device_ids``.
"""
import os

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmengine.runner import Runner

__all__ = ['CPUAwareRunner', 'init_cpu_distributed']


class CPUAwareRunner(Runner):
    """MMEngine's ``Runner``; distributed models on the CPU are wrapped without
    ``device_ids`` (``broadcast_buffers=False`` as MMEngine's default wrapper)."""

    def wrap_model(self, model_wrapper_cfg, model):
        if not (self.distributed and model_wrapper_cfg is None
                and not torch.cuda.is_available()):
            return super().wrap_model(model_wrapper_cfg, model)
        return MMDistributedDataParallel(
            module=model, device_ids=None, broadcast_buffers=False,
            find_unused_parameters=self.cfg.get('find_unused_parameters', False))


def init_cpu_distributed() -> bool:
    """Start a gloo process group from ``torchrun``'s environment when there is no GPU.

    Returns:
        bool: True when this function started the group (no CUDA and a launcher's
        ``RANK``/``WORLD_SIZE`` in the environment), False otherwise.
    """
    if torch.cuda.is_available() or dist.is_initialized() or 'RANK' not in os.environ:
        return False
    dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                            world_size=int(os.environ['WORLD_SIZE']))
    return True
