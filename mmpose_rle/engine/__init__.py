"""Training machinery: exact resume, safe checkpoint loading, CPU distributed training."""
from .cpu_ddp import CPUDistributedDataParallel, init_cpu_distributed
from .random_state_hook import RandomStateHook
from .safe_checkpoint import SAFE_GLOBALS, allow_mmengine_checkpoints
from .seeded_data import SeededDataset, SeededSampler, wrap_seeded
from .train_setup import configure_training

__all__ = ['CPUDistributedDataParallel', 'init_cpu_distributed', 'RandomStateHook',
           'SAFE_GLOBALS', 'allow_mmengine_checkpoints', 'SeededDataset', 'SeededSampler',
           'wrap_seeded', 'configure_training']
