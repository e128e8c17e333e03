"""tools/calibrate_sigma.py and the calibration hook: a new checkpoint whose σ is calibrated
everywhere σ is reported (predict, ONNX), a map per inference mode, the original left as it
was."""

import json
import math

import numpy as np
import onnx
import pytest
import torch

from mmpose_rle.apis.onnx_export import build_model, export_onnx, reference_outputs, run_onnx
from mmpose_rle.calibration import collect_predictions
from mmpose_rle.cli.calibrate import main as calibrate_main
from tests.calibration.bottomup_fixtures import (
    ONE_STAGE_CONFIG,
    SMALL_OPTIONS,
    NoisyOracle,
    crowds_data,
    one_stage_model_and_loader,
    use_oracle,
)
from tests.calibration.fixtures import LIFTING_CONFIG, lifting_data, lifting_model_and_loader
from tests.helpers import QUICKSTART_CONFIG, ROOT, TINY_OPTIONS, run_tool

HOOK_CONFIG = ROOT / 'tests/configs/rle_calibrated_synthetic-64x64.py'


@pytest.fixture(scope='module')
def trained(tiny_figures, tmp_path_factory):
    work = tmp_path_factory.mktemp('calib')
    env = {'MMPOSE_RLE_DATA_ROOT': str(tiny_figures)}
    run_tool(
        [
            'tools/train.py',
            str(HOOK_CONFIG),
            '--work-dir',
            str(work),
            '--cfg-options',
            *TINY_OPTIONS,
            'train_cfg.max_epochs=1',
        ],
        env=env,
    )
    return work, env


def test_the_hook_saves_a_calibrated_checkpoint(trained):
    work, _ = trained
    ckpt = torch.load(work / 'calibrated.pth', map_location='cpu', weights_only=True)
    log_scale = ckpt['state_dict']['head.sigma_calibration.log_scale']
    flip = ckpt['state_dict']['head.sigma_calibration.flip_log_scale']
    assert log_scale.shape == flip.shape == (11, 2) and (log_scale != 0).any()
    assert not torch.allclose(flip, log_scale)  # fitted on the flip test's predictions
    epoch = torch.load(work / 'epoch_1.pth', map_location='cpu', weights_only=True)
    assert (epoch['state_dict']['head.sigma_calibration.log_scale'] == 0).all()  # untouched


def test_cli_calibrates_into_a_new_checkpoint_used_by_predict_and_onnx(trained, tmp_path):
    work, env = trained
    src = work / 'epoch_1.pth'
    before = src.read_bytes()
    proc = run_tool(
        [
            'tools/calibrate_sigma.py',
            str(QUICKSTART_CONFIG),
            str(src),
            '--folds',
            '2',
            '--cfg-options',
            'val_dataloader.batch_size=8',
        ],
        env=env,
    )
    out = work / 'epoch_1_calibrated.pth'
    assert 'heldout' in proc.stdout and out.exists() and src.read_bytes() == before
    with pytest.raises(AssertionError, match='exists; pass --force'):  # never overwritten
        run_tool(['tools/calibrate_sigma.py', str(QUICKSTART_CONFIG), str(src)], env=env)
    assert 'single view' in proc.stdout and 'flip test' in proc.stdout
    reports = torch.load(out, map_location='cpu', weights_only=True)['meta']['sigma_calibration']
    assert set(reports) == {'single', 'flip'}
    for mode, report in reports.items():
        assert report['mode'] == mode and report['kind'] == 'temperature'
        assert set(report['heldout']) >= {'ece', 'nll', 'ause'}
    meta = reports['single']

    plain = build_model(QUICKSTART_CONFIG, str(src))
    calibrated = build_model(QUICKSTART_CONFIG, str(out))
    scale = calibrated.head.sigma_calibration.log_scale.exp()
    torch.testing.assert_close(scale, torch.tensor(meta['log_scale']).exp().float())
    flip_scale = calibrated.head.sigma_calibration.map('flip')[0].exp()
    torch.testing.assert_close(flip_scale, torch.tensor(reports['flip']['log_scale']).exp().float())
    x = (torch.rand(2, 3, 64, 64),)
    with torch.no_grad():
        a = plain.head.predict_outputs(plain.extract_feat(x[0]))
        b = calibrated.head.predict_outputs(calibrated.extract_feat(x[0]))
    torch.testing.assert_close(b.rms, a.rms * scale)  # σ' = exp(log_scale) σ (temperature)
    torch.testing.assert_close(b.coords, a.coords)

    path = export_onnx(calibrated, tmp_path / 'calibrated.onnx')
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    onnx_map = json.loads(props['sigma_calibration'])
    assert onnx_map['mode'] == 'single'  # the graph has no flip test
    np.testing.assert_allclose(onnx_map['log_scale'], meta['log_scale'], rtol=1e-6)
    images = torch.rand(2, 3, 64, 64) * 255
    got, ref = run_onnx(path, images.numpy()), reference_outputs(calibrated, images)
    np.testing.assert_allclose(got['rms'], ref['rms'], rtol=1e-4, atol=1e-4)
    uncalibrated = reference_outputs(plain, images)['rms']
    np.testing.assert_allclose(ref['rms'], uncalibrated * scale.numpy(), rtol=1e-5)


def test_cli_calibrates_a_lifting_checkpoint(tmp_path, monkeypatch, capsys):
    """The lifting head: one map (no flip test), fitted without the root the codec pins,
    closed form of the temperature per joint and axis."""
    data = lifting_data(tmp_path / 'data')
    model, loader = lifting_model_and_loader(data)
    raw = collect_predictions(model, loader)
    src = tmp_path / 'lifting.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), src)
    monkeypatch.setenv('MMPOSE_RLE_LIFTING_ROOT', str(data))
    options = ['val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    calibrate_main([str(LIFTING_CONFIG), str(src), '--folds', '2', '--cfg-options', *options])
    assert 'σ calibration, single view' in capsys.readouterr().out
    out = torch.load(tmp_path / 'lifting_calibrated.pth', map_location='cpu', weights_only=True)
    assert list(out['meta']['sigma_calibration']) == ['single']
    ratio = np.abs(raw['errors'][:, 1:]) / raw['sigmas'][:, 1:]
    log_scale = out['state_dict']['head.sigma_calibration.log_scale']
    np.testing.assert_allclose(
        log_scale[1:].numpy(), np.log(math.sqrt(2) * ratio.mean(0)), rtol=1e-5
    )
    assert (log_scale[0] == 0).all()


def test_cli_calibrates_a_one_stage_checkpoint(tmp_path, monkeypatch, capsys):
    """A bottom-up model (YOLOXPoseRLEHead; oracle predictions of RMS twice its σ): one map,
    fitted on the ground truth paired with its predictions, in head units."""
    data = crowds_data(tmp_path / 'crowds')
    model, loader = one_stage_model_and_loader(data)
    use_oracle(monkeypatch, NoisyOracle(factor=2.0))
    raw = collect_predictions(model, loader)
    src = tmp_path / 'one_stage.pth'
    torch.save(dict(state_dict=model.state_dict(), meta={}), src)
    monkeypatch.setenv('MMPOSE_RLE_CROWDS_ROOT', str(data))
    options = [f'{k}={v}'.replace(' ', '') for k, v in SMALL_OPTIONS.items()]
    argv = [str(ONE_STAGE_CONFIG), str(src), '--folds', '2', '--share', 'all']
    calibrate_main([*argv, '--cfg-options', *options])
    assert 'σ calibration, single view' in capsys.readouterr().out
    out = torch.load(tmp_path / 'one_stage_calibrated.pth', map_location='cpu', weights_only=True)
    report = out['meta']['sigma_calibration']['single']
    assert list(out['meta']['sigma_calibration']) == ['single'] and report['missing'] == 0
    ratio = np.abs(raw['errors']) / raw['sigmas']
    expected = np.log(math.sqrt(2) * ratio[raw['visible']].mean())
    log_scale = out['state_dict']['head.sigma_calibration.log_scale']
    np.testing.assert_allclose(log_scale.numpy(), np.full((11, 2), expected), rtol=1e-5)
    assert math.exp(expected) == pytest.approx(2, rel=0.2)
