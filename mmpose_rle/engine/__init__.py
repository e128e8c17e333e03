"""Training machinery: exact resume, safe checkpoint loading, CPU distributed training."""
from .consistency_hook import HeadDatasetCheckHook, check_head_against_metainfo
from .cpu_ddp import CPUAwareRunner, init_cpu_distributed
from .random_state_hook import RandomStateHook
from .safe_checkpoint import SAFE_GLOBALS, allow_mmengine_checkpoints
from .seeded_data import SeededDataset, SeededSampler, wrap_seeded
from .train_setup import add_hook, configure_training, default_work_dir

__all__ = [
    'HeadDatasetCheckHook', 'check_head_against_metainfo', 'CPUAwareRunner',
    'init_cpu_distributed', 'RandomStateHook', 'SAFE_GLOBALS', 'allow_mmengine_checkpoints',
    'SeededDataset', 'SeededSampler', 'wrap_seeded', 'configure_training', 'add_hook',
    'default_work_dir'
]
