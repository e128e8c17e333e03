"""fit_gap: the standardised errors equal those of MMPose's predictions, the plain pipeline
drops exactly the random transforms, and the report covers the three sets of images."""

import os
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmpose_rle.calibration import collect_predictions
from mmpose_rle.calibration.fit_gap import fit_gap, plain_pipeline, standardised_errors
from mmpose_rle.cli.fit_gap import main
from tests.helpers import QUICKSTART_CONFIG


def test_plain_pipeline_drops_the_random_transforms_only():
    pipeline = [
        dict(type='LoadImage'),
        dict(type='RandomFlip', direction='horizontal'),
        dict(type='mmpose.RandomBBoxTransform'),
        dict(type='PhotometricDistortion'),
        dict(type='TopdownAffine', input_size=(64, 64)),
        dict(type='GenerateTarget'),
    ]
    plain = plain_pipeline(pipeline)
    assert [t['type'] for t in plain] == ['LoadImage', 'TopdownAffine', 'GenerateTarget']
    plain[1]['input_size'] = (1, 1)
    assert pipeline[4]['input_size'] == (64, 64)  # copies


def test_standardised_errors_are_the_predictions_errors_over_their_raw_sigma(model_and_loader):
    model, loader = model_and_loader
    model.head.sigma_calibration.reset_()
    with mock.patch.dict(os.environ, MMPOSE_RLE_DATA_ROOT=str(loader.dataset.data_root)):
        cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    plain = plain_pipeline(cfg.train_pipeline)
    cfg.val_dataloader.update(batch_size=8, num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.pipeline = plain
    z = standardised_errors(model, Runner.build_dataloader(cfg.val_dataloader))
    ref = collect_predictions(model, loader, mode='single')  # MMPose's decoding, image pixels
    visible = np.broadcast_to(ref['visible'][..., None] > 0, ref['errors'].shape)
    expected = (ref['errors'] / ref['sigmas'])[visible]
    np.testing.assert_allclose(z, expected, rtol=1e-4, atol=1e-4)


def test_fit_gap_reports_three_sets_and_the_command_prints_them(model_and_loader, tmp_path, capsys):
    model, loader = model_and_loader
    with mock.patch.dict(os.environ, MMPOSE_RLE_DATA_ROOT=str(loader.dataset.data_root)):
        cfg = Config.fromfile(str(QUICKSTART_CONFIG))
    report = fit_gap(model, cfg, passes=2, batch_size=8)
    assert list(report) == ['train (augmented)', 'train (plain)', 'val (plain)']
    keypoints = model.head.num_joints
    assert report['train (plain)']['n'] == 24 * keypoints * 2  # every figure is visible
    assert report['train (augmented)']['n'] <= 2 * report['train (plain)']['n']
    assert report['val (plain)']['n'] == 8 * keypoints * 2
    for row in report.values():
        assert row['rms_ratio'] > 0 and 0 <= row['within_1sigma'] <= 1
    assert fit_gap(model, cfg, passes=2, batch_size=8) == report  # seeded augmentation
    # augmentation moves the errors: the two training rows differ
    assert report['train (augmented)']['rms_ratio'] != pytest.approx(
        report['train (plain)']['rms_ratio'], rel=1e-3
    )
    with pytest.raises(TypeError, match='top-down RLE head'):
        standardised_errors(mock.Mock(head=object()), [])
    checkpoint = tmp_path / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    with mock.patch.dict(os.environ, MMPOSE_RLE_DATA_ROOT=str(loader.dataset.data_root)):
        main([str(QUICKSTART_CONFIG), str(checkpoint), '--passes', '1'])
    printed = capsys.readouterr().out
    plain = report['train (plain)']
    assert f'| train (plain) | {plain["rms_ratio"]:.2f} | {plain["within_1sigma"]:.2f} |' in printed
