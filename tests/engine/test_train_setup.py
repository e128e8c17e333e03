"""configure_training: work dir, resume, AMP, launcher, and the hooks and seeded data of an
exact resume."""

import pytest
from mmengine.config import Config

from mmpose_rle.engine import add_hook, configure_training, default_work_dir, train_setup


def config(sampler='DefaultSampler', **extra) -> Config:
    return Config(
        dict(
            optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)),
            train_dataloader=dict(
                dataset=dict(type='CocoDataset'), sampler=dict(type=sampler, shuffle=True)
            ),
            **extra,
        )
    )


def hook_types(cfg: Config) -> list:
    return [h['type'] for h in cfg.custom_hooks]


def test_work_dir_argument_then_config_then_the_config_name():
    assert default_work_dir(config(), 'configs/x/my_cfg.py') == './work_dirs/my_cfg'
    assert default_work_dir(config(work_dir='w'), 'configs/x/my_cfg.py') == 'w'
    assert default_work_dir(config(work_dir='w'), 'configs/x/my_cfg.py', 'arg') == 'arg'


def test_resume_auto_or_from_a_checkpoint():
    auto = configure_training(config(), 'c.py', resume='auto')
    assert auto.resume is True and auto.load_from is None
    path = configure_training(config(), 'c.py', resume='w/epoch_3.pth')
    assert path.resume is True and path.load_from == 'w/epoch_3.pth'
    assert 'resume' not in configure_training(config(), 'c.py')


@pytest.mark.parametrize('amp, dtype', [('fp16', 'float16'), ('bf16', 'bfloat16')])
def test_amp_swaps_the_optimiser_wrapper(amp, dtype):
    wrapper = configure_training(config(), 'c.py', amp=amp).optim_wrapper
    assert (wrapper.type, wrapper.dtype, wrapper.loss_scale) == (
        'AmpOptimWrapper',
        dtype,
        'dynamic',
    )
    assert wrapper.optimizer == dict(type='Adam', lr=1e-3)
    with pytest.raises(ValueError, match='fp16 or bf16'):
        configure_training(config(), 'c.py', amp='fp32')


def test_exact_resume_seeds_the_data_and_the_steps():
    cfg = configure_training(config(), 'c.py')
    assert hook_types(cfg) == ['mmpose_rle.HeadDatasetCheckHook', 'mmpose_rle.StepSeedHook']
    loader = cfg.train_dataloader
    assert loader.dataset == dict(type='mmpose_rle.SeededDataset', dataset=dict(type='CocoDataset'))
    assert loader.sampler.type == 'mmpose_rle.SeededSampler'
    assert loader.sampler.sampler == dict(type='DefaultSampler', shuffle=True)
    again = configure_training(cfg, 'c.py')  # applying it twice changes nothing
    assert hook_types(again) == hook_types(cfg) and again.train_dataloader == loader


@pytest.mark.parametrize('sampler, exact', [('InfiniteSampler', True), ('DefaultSampler', False)])
def test_no_seeded_data_for_an_iteration_sampler_or_without_exact_resume(sampler, exact):
    cfg = configure_training(config(sampler), 'c.py', exact_resume=exact)
    assert hook_types(cfg) == ['mmpose_rle.HeadDatasetCheckHook']
    assert cfg.train_dataloader.dataset == dict(type='CocoDataset')


def test_a_launcher_without_cuda_starts_gloo(monkeypatch):
    started = []
    monkeypatch.setattr(train_setup.torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(train_setup, 'init_cpu_distributed', started.append)
    nccl = dict(env_cfg=dict(dist_cfg=dict(backend='nccl')))  # MMPose's default runtime
    cfg = configure_training(config(**nccl), 'c.py', launcher='slurm')
    assert started == ['slurm'] and cfg.launcher == 'slurm'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    plain = configure_training(config(**nccl), 'c.py')  # launcher none
    assert plain.env_cfg.dist_cfg.backend == 'nccl' and len(started) == 1


def test_add_hook_knows_a_hook_by_its_name_in_any_scope():
    cfg = config(custom_hooks=[dict(type='HeadDatasetCheckHook')])
    add_hook(cfg, 'mmpose_rle.HeadDatasetCheckHook')
    add_hook(cfg, 'mmpose_rle.StepSeedHook')
    assert hook_types(cfg) == ['HeadDatasetCheckHook', 'mmpose_rle.StepSeedHook']
