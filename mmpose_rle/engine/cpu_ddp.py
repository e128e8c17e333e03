"""Distributed data-parallel training without a GPU (gloo), under MMEngine's Runner.

MMEngine 0.10.7 cannot do this by itself: its ``init_dist`` calls
``torch.cuda.set_device`` unconditionally, and its default DDP wrapper passes
``device_ids``, which modules on the CPU reject. :func:`init_cpu_distributed` starts the
process group with gloo before the runner (which then skips ``init_dist``), and
:class:`CPUDistributedDataParallel` drops ``device_ids`` for CPU modules.
"""
import os

import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel

from mmpose_rle.registry import MODEL_WRAPPERS

__all__ = ['CPUDistributedDataParallel', 'init_cpu_distributed']


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that accepts CPU modules (``device_ids=None``)."""

    def __init__(self, module: torch.nn.Module, device_ids=None, **kwargs) -> None:
        if next(module.parameters()).device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


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
