"""Training machinery: exact resume, safe checkpoint loading, CPU distributed training."""

from .consistency_hook import HeadDatasetCheckHook, check_head_against_metainfo
from .cpu_ddp import CPUAwareRunner, init_cpu_distributed, launcher_environment
from .repeat_sampler import RepeatSampler
from .safe_checkpoint import SAFE_GLOBALS, allow_mmengine_checkpoints
from .seeded_data import SeededDataset, SeededSampler, wrap_seeded
from .sigma_calibration_hook import SigmaCalibrationHook
from .step_seed_hook import StepSeedHook, seed_everything
from .train_setup import add_hook, configure_training, default_work_dir

__all__ = [
    'HeadDatasetCheckHook',
    'check_head_against_metainfo',
    'CPUAwareRunner',
    'init_cpu_distributed',
    'launcher_environment',
    'StepSeedHook',
    'seed_everything',
    'SigmaCalibrationHook',
    'SAFE_GLOBALS',
    'allow_mmengine_checkpoints',
    'RepeatSampler',
    'SeededDataset',
    'SeededSampler',
    'wrap_seeded',
    'configure_training',
    'add_hook',
    'default_work_dir',
]
