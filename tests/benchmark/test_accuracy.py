"""Training and evaluation of a run: failures are recorded, a diverged run is marked."""

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpose.registry import MODELS

from mmpose_rle.benchmark import accuracy, mark_divergence, train_and_evaluate
from tests.calibration.bottomup_fixtures import (
    ONE_STAGE_CONFIG,
    SMALL_OPTIONS,
    NoisyOracle,
    crowds_data,
    use_oracle,
)


def test_a_diverged_run_is_failed_and_loses_its_perfect_coco_ap():
    """MMPose's COCO evaluation scores NaN keypoints as perfect (AP 1.0): seen with DSNT."""
    run = mark_divergence({'PCK': 0.0, 'EPE': float('nan'), 'coco/AP': 1.0, 'coco/AR': 1.0})
    assert 'diverged' in run['failed'] and np.isnan(run['coco/AP']) and np.isnan(run['coco/AR'])
    fine = mark_divergence({'PCK': 0.9, 'EPE': 3.0, 'coco/AP': 0.8})
    assert 'failed' not in fine and fine['coco/AP'] == 0.8


@pytest.fixture
def stages(monkeypatch):
    """Training and evaluation replaced by what each test sets in ``outcome``."""
    outcome = dict(train=dict(checkpoint='c.pth', train_time=7.0, iter_time=None, curve=[]))

    def stage(name):
        def run(*args, **kwargs):
            outcome.setdefault('calls', []).append((name, args, kwargs))
            if isinstance(outcome[name], Exception):
                raise outcome[name]
            return dict(outcome[name])

        return run

    monkeypatch.setattr(accuracy, 'train_variant', stage('train'))
    monkeypatch.setattr(accuracy, 'evaluate_checkpoint', stage('evaluate'))
    return outcome


def test_a_failed_training_is_recorded_with_its_curve(stages, tmp_path):
    stages['train'] = RuntimeError('training failed, see log')
    run = train_and_evaluate('cfg', str(tmp_path), 0, 2)
    assert run == dict(failed='training: training failed, see log', curve=[])
    (tmp_path / 'train.log').write_text(
        '01/02 03:04:05 - mmengine - INFO - Epoch(val) [1][1/1]    PCK: 0.5\n'
    )
    run = train_and_evaluate('cfg', str(tmp_path), 0, 2)
    assert run['curve'] == [dict(PCK=0.5, time=0.0, epoch=1)]


def test_an_evaluation_error_keeps_the_training_figures(stages, tmp_path):
    stages['train']['iter_time'] = 0.25
    stages['evaluate'] = ValueError('no predictions')
    run = train_and_evaluate('cfg', str(tmp_path), 3, 2, reuse=True, val_interval=1)
    assert run == dict(
        train_time=7.0, curve=[], iter_time=0.25, failed='evaluation: ValueError: no predictions'
    )
    name, args, kwargs = stages['calls'][0]
    assert (name, args, kwargs) == (
        'train',
        ('cfg', str(tmp_path), 3, 2),
        dict(reuse=True, val_interval=1),
    )


def test_evaluated_metrics_join_the_training_figures(stages, tmp_path):
    stages['evaluate'] = {'PCK': 0.9, 'EPE': 2.0, 'coco/AP': 0.7}
    run = train_and_evaluate('cfg', str(tmp_path), 0, 2)
    assert run == {'train_time': 7.0, 'curve': [], 'PCK': 0.9, 'EPE': 2.0, 'coco/AP': 0.7}
    assert stages['calls'][1][1] == ('cfg', 'c.pth', str(tmp_path))  # the trained checkpoint


def test_a_one_stage_checkpoint_is_evaluated_on_its_paired_instances(tmp_path, monkeypatch):
    """A one-stage model whose head predicts every labelled figure (errors of twice its σ)
    and one false positive per image: the σ report covers the pairs, none is missing, and
    the per-prediction COCO reports are left out."""
    data = crowds_data(tmp_path / 'data')
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(data))
    cfg = Config.fromfile(str(ONE_STAGE_CONFIG))
    cfg.merge_from_dict(SMALL_OPTIONS)
    cfg.merge_from_dict({k.replace('val_', 'test_', 1): v for k, v in SMALL_OPTIONS.items()})
    init_default_scope('mmpose')
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    use_oracle(monkeypatch, NoisyOracle(factor=2.0))
    metrics = accuracy.evaluate_checkpoint(cfg, str(checkpoint), str(tmp_path / 'work'), folds=2)
    assert metrics['missing'] == 0.0 and metrics['predicts_sigma']
    assert 0.3 < metrics['raw/within_1sigma'] < 0.6  # σ reported half the true RMS
    assert not any(k.startswith(('oracle_score/', 'sigma_score/')) for k in metrics)
    assert 'coco/AP' in metrics
